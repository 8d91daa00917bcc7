// Configuration requests `{id, request}`, answers `{id, ok | error | processing}`, and `apply`:
// a diff (a list of requests) validated and applied to a copy of the state all or nothing,
// rejected at the first error with a typed reason naming the request, the entity and the field.
// Control plane: may allocate; never does I/O. See docs/config.md for the semantics.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "kakehi/common/result.hpp"
#include "kakehi/config/model.hpp"

namespace kakehi::config {

// ---- Mutations. Add: the key must be new (an identical re-add is an ok no-op). Update: the
// key must exist; the whole entity is replaced. Remove: the key must exist.
struct AddListener {
  Listener listener;
  bool operator==(const AddListener&) const = default;
};
struct UpdateListener {
  Listener listener;
  bool operator==(const UpdateListener&) const = default;
};
struct RemoveListener {
  std::string address;
  bool operator==(const RemoveListener&) const = default;
};
struct AddCluster {
  Cluster cluster;
  bool operator==(const AddCluster&) const = default;
};
struct UpdateCluster {
  Cluster cluster;
  bool operator==(const UpdateCluster&) const = default;
};
struct RemoveCluster {
  std::string id;
  bool operator==(const RemoveCluster&) const = default;
};
struct AddHttpFrontend {
  HttpFrontend frontend;
  bool operator==(const AddHttpFrontend&) const = default;
};
struct UpdateHttpFrontend {
  HttpFrontend frontend;
  bool operator==(const UpdateHttpFrontend&) const = default;
};
struct RemoveHttpFrontend {
  std::string id;
  bool operator==(const RemoveHttpFrontend&) const = default;
};
struct AddTcpFrontend {
  TcpFrontend frontend;
  bool operator==(const AddTcpFrontend&) const = default;
};
struct UpdateTcpFrontend {
  TcpFrontend frontend;
  bool operator==(const UpdateTcpFrontend&) const = default;
};
struct RemoveTcpFrontend {
  std::string listener;
  bool operator==(const RemoveTcpFrontend&) const = default;
};
struct AddBackend {
  Backend backend;
  bool operator==(const AddBackend&) const = default;
};
struct UpdateBackend {
  Backend backend;
  bool operator==(const UpdateBackend&) const = default;
};
struct RemoveBackend {
  std::string cluster;
  std::string id;
  bool operator==(const RemoveBackend&) const = default;
};
struct AddCertificate {
  Certificate certificate;
  bool operator==(const AddCertificate&) const = default;
};
struct UpdateCertificate {
  Certificate certificate;
  bool operator==(const UpdateCertificate&) const = default;
};
struct RemoveCertificate {
  std::string id;
  bool operator==(const RemoveCertificate&) const = default;
};

// ---- Queries: never change the state; answered with a payload (a filtered State).
struct ListListeners {
  bool operator==(const ListListeners&) const = default;
};
struct ListClusters {
  bool operator==(const ListClusters&) const = default;
};
struct ListFrontends {
  bool operator==(const ListFrontends&) const = default;
};  ///< HTTP + TCP
/// All backends, or only those of `cluster` when set.
struct ListBackends {
  std::optional<std::string> cluster;
  bool operator==(const ListBackends&) const = default;
};
/// One cluster with its backends and the frontends pointing at it.
struct QueryCluster {
  std::string id;
  bool operator==(const QueryCluster&) const = default;
};

using RequestBody =
    std::variant<AddListener, UpdateListener, RemoveListener, AddCluster, UpdateCluster,
                 RemoveCluster, AddHttpFrontend, UpdateHttpFrontend, RemoveHttpFrontend,
                 AddTcpFrontend, UpdateTcpFrontend, RemoveTcpFrontend, AddBackend, UpdateBackend,
                 RemoveBackend, AddCertificate, UpdateCertificate, RemoveCertificate, ListListeners,
                 ListClusters, ListFrontends, ListBackends, QueryCluster>;

struct Request {
  std::string id;
  RequestBody body;
  bool operator==(const Request&) const = default;
};

[[nodiscard]] bool is_query(const RequestBody& b) noexcept;

enum class AnswerStatus : uint8_t { Ok, Error, Processing };

struct Answer {
  std::string id;
  AnswerStatus status = AnswerStatus::Ok;
  std::string message;           ///< empty when ok; the DiffError message on error
  std::optional<State> payload;  ///< query results
  bool operator==(const Answer&) const = default;
};

enum class DiffErrorCode : uint8_t {
  AlreadyExists,     ///< add of a key that exists with different content
  NotFound,          ///< update/remove/query of a key that does not exist
  MissingReference,  ///< a referenced listener or cluster does not exist
  InUse,             ///< removing a listener/cluster still referenced
  InvalidField,      ///< a field value is malformed or out of range
  Conflict,          ///< e.g. two frontends with the same route on one listener
};

struct DiffError {
  std::size_t index = 0;   ///< position of the failing request in the diff
  std::string request_id;  ///< its id
  DiffErrorCode code = DiffErrorCode::InvalidField;
  std::string entity;  ///< e.g. `add backend "b1"`
  std::string field;   ///< e.g. "cluster"
  std::string reason;  ///< e.g. `cluster "c9" does not exist`
  /// `request "r3": add backend "b1": cluster "c9" does not exist`
  [[nodiscard]] std::string message() const;
  bool operator==(const DiffError&) const = default;
};

/// Applies the whole diff to a copy of `state`. On success returns the new state; on the first
/// failing request returns its error and `state` is untouched. Queries are accepted and ignored.
[[nodiscard]] Result<State, DiffError> apply(const State& state, std::span<const Request> diff);
/// Same; these exact-match overloads keep `apply(state, vector)` from picking `std::apply`
/// through argument-dependent lookup (std::vector brings namespace std in).
[[nodiscard]] inline Result<State, DiffError> apply(const State& state,
                                                    const std::vector<Request>& diff) {
  return apply(state, std::span<const Request>(diff));
}
[[nodiscard]] inline Result<State, DiffError> apply(const State& state,
                                                    std::vector<Request>& diff) {
  return apply(state, std::span<const Request>(diff));
}
[[nodiscard]] inline Result<State, DiffError> apply(const State& state,
                                                    std::vector<Request>&& diff) {
  return apply(state, std::span<const Request>(diff));
}

/// Answers one query (or validates one mutation against `state` and answers ok/error without
/// keeping the result). Used for the control socket's per-request replies.
[[nodiscard]] Answer answer(const State& state, const Request& request);

/// A diff's result with one answer per request, in order.
struct DiffOutcome {
  std::optional<State> state;  ///< the new state; nullopt when the diff was rejected
  std::vector<Answer> answers;
};
/// Applies `diff` all or nothing and answers every request: on success each gets ok (queries
/// get their payload, computed on the new state); on failure the failing request gets its
/// error and every other request gets error `not applied: request "<id>" failed`.
[[nodiscard]] DiffOutcome apply_and_answer(const State& state, std::span<const Request> diff);

/// Checks every referential rule of a whole state (used after loading a dump).
[[nodiscard]] Result<void, std::string> validate(const State& state);

/// `add backend "b1"`, `remove cluster "c1"`, `list clusters`...
[[nodiscard]] std::string describe(const RequestBody& b);

}  // namespace kakehi::config
