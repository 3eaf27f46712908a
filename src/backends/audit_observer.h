// The EgressObserver that writes each egress to the audit log before the bytes leave. If the
// record cannot be written (disk full, damaged log), the send is refused: nothing leaves unaudited.
//   ASSIGN_OR_RETURN(auto audit, ledger::AuditLog::Open(path));
//   NetworkOptions net{offline, AuditingObserver(audit.get())};
#pragma once

#include "backends/backend.h"
#include "ledger/audit.h"

namespace hearth::backends {

// `log` must outlive every backend created with the observer.
EgressObserver AuditingObserver(ledger::AuditLog* log);

}  // namespace hearth::backends
