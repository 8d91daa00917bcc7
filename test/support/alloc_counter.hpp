// Counts global operator new calls in this test binary (replacement in alloc_counter.cpp),
// so tests can assert that a data-plane call does not allocate.
#pragma once

#include <cstddef>

std::size_t allocation_count_for_test() noexcept;
