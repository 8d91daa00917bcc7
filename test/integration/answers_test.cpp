#include "rig.hpp"
