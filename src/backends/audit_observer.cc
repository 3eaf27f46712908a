#include "backends/audit_observer.h"

namespace hearth::backends {

EgressObserver AuditingObserver(ledger::AuditLog* log) {
  CHECK(log != nullptr);
  return [log](const EgressRecord& e) -> Status {
    ledger::AuditRecord a;
    a.backend = e.backend;
    a.host = e.host;
    a.sha256_hex = e.sha256_hex;
    a.entity_types = e.redacted_entity_types;
    a.bytes = e.bytes;
    a.request_id = e.request_id;
    Status s = log->Append(a);
    if (!s.ok()) return s.WithContext("audit log write failed; send refused");
    return s;
  };
}

}  // namespace hearth::backends
