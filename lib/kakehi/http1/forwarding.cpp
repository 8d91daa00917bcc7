// Proxy header editing (see forwarding.hpp; RFC 7239, RFC 9110 §7.6).
#include "kakehi/http1/forwarding.hpp"

#include <array>
#include <cstring>

namespace kakehi::http1 {

namespace {

using http::FieldList;
using http::StringArena;

std::string_view dec(uint64_t v, StringArena& arena) {
  char tmp[20];
  size_t n = 0;
  do tmp[sizeof tmp - ++n] = char('0' + v % 10);
  while ((v /= 10) != 0);
  return arena.store({tmp + sizeof tmp - n, n});
}

bool is_tchar(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

/// token, or quoted-string with `"` and `\` escaped (RFC 9110 §5.6.4).
std::string_view token_or_quoted(std::string_view v, StringArena& arena) {
  bool token = !v.empty();
  size_t escapes = 0;
  for (char c : v) {
    if (c == '\0' || !is_tchar(c)) token = false;
    if (c == '"' || c == '\\') ++escapes;
  }
  if (token) return v;
  char* p = arena.allocate(v.size() + escapes + 2);
  size_t n = 0;
  p[n++] = '"';
  for (char c : v) {
    if (c == '"' || c == '\\') p[n++] = '\\';
    p[n++] = c;
  }
  p[n++] = '"';
  return {p, n};
}

/// Joins all fields named `name` with ", " plus `extra`, into one field at the first position.
void append_list(FieldList& fields, std::string_view name, std::string_view extra,
                 StringArena& arena) {
  std::string_view joined;
  for (const http::Field& f : fields) {
    if (!http::iequals(f.name, name)) continue;
    joined = joined.empty() ? f.value : arena.concat({joined, ", ", f.value});
  }
  fields.set(name, joined.empty() ? extra : arena.concat({joined, ", ", extra}));
}

std::string_view via_value(http::Version v, std::string_view pseudonym, StringArena& arena) {
  std::string_view ver = v == 10 ? "1.0" : v == 20 ? "2" : "1.1";
  return arena.concat({ver, " ", pseudonym});
}

}  // namespace

void remove_hop_by_hop(FieldList& fields, bool keep_upgrade) {
  // One pass collects the options the Connection fields name, one drops what they name and the
  // fixed hop-by-hop fields (compacting in place): linear in the field count.
  const http::ConnectionOptions options(fields);
  size_t out = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const http::Field f = fields[i];
    const bool kept_upgrade =
        keep_upgrade && f.name.size() == 7 && http::iequals(f.name, "upgrade");
    const bool drop = !kept_upgrade && (http::is_hop_by_hop(f.name) || options.lists(f.name));
    if (!drop) fields[out++] = f;
  }
  fields.truncate(out);
}

void apply_rules(FieldList& fields, std::span<const HeaderRule> rules, StringArena& arena) {
  for (const HeaderRule& r : rules) {
    switch (r.action) {
      case RuleAction::Set:
        fields.set(arena.store(r.name), arena.store(r.value));
        break;
      case RuleAction::Add:
        fields.add(arena.store(r.name), arena.store(r.value));
        break;
      case RuleAction::Delete:
        fields.remove(r.name);
        break;
    }
  }
}

std::string_view forwarded_node(std::string_view ip, uint16_t port, StringArena& arena) {
  bool v6 = ip.find(':') != std::string_view::npos;
  if (!v6 && port == 0) return token_or_quoted(ip, arena);
  std::string_view host = v6 ? arena.concat({"[", ip, "]"}) : ip;
  if (port != 0) host = arena.concat({host, ":", dec(port, arena)});
  return arena.concat({"\"", host, "\""});
}

std::string_view edit_request(http::Request& req, const Peer& peer, const ForwardingOptions& opt,
                              bool upgrade) {
  StringArena& a = req.storage;
  FieldList& f = req.fields;
  remove_hop_by_hop(f, upgrade);
  if (opt.x_forwarded_for && !peer.client_ip.empty())
    append_list(f, "X-Forwarded-For", peer.client_ip, a);
  if (opt.x_forwarded_proto) f.set("X-Forwarded-Proto", peer.proto);
  if (opt.x_forwarded_port && peer.frontend_port != 0)
    f.set("X-Forwarded-Port", dec(peer.frontend_port, a));
  if (opt.x_forwarded_host && !req.authority.empty()) f.set("X-Forwarded-Host", req.authority);
  if (opt.forwarded && !peer.client_ip.empty()) {
    std::string_view elem = a.concat({"for=", forwarded_node(peer.client_ip, peer.client_port, a)});
    if (!req.authority.empty())
      elem = a.concat({elem, ";host=", token_or_quoted(req.authority, a)});
    elem = a.concat({elem, ";proto=", peer.proto});
    if (!peer.by.empty()) elem = a.concat({elem, ";by=", token_or_quoted(peer.by, a)});
    append_list(f, "Forwarded", elem, a);
  }
  std::string_view id;
  if (!opt.request_id_header.empty()) {
    if (const http::Field* in = f.find(opt.request_id_header); in && !in->value.empty()) {
      id = in->value;
    } else if (opt.request_id) {
      id = opt.request_id->next(a);
      f.set(opt.request_id_header, id);
    }
  }
  if (!opt.via.empty()) append_list(f, "Via", via_value(req.version, opt.via, a), a);
  apply_rules(f, opt.request_rules, a);
  return id;
}

void edit_response(http::Response& res, const ForwardingOptions& opt, std::string_view request_id,
                   bool upgrade) {
  StringArena& a = res.storage;
  remove_hop_by_hop(res.fields, upgrade);
  if (opt.echo_request_id && !opt.request_id_header.empty() && !request_id.empty())
    res.fields.set(opt.request_id_header, a.store(request_id));
  if (!opt.via.empty()) append_list(res.fields, "Via", via_value(res.version, opt.via, a), a);
  apply_rules(res.fields, opt.response_rules, a);
}

}  // namespace kakehi::http1
