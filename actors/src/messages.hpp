#pragma once
// The messages an applet actor's mailbox carries: all are (kind, argument).

#include <caf/atom.hpp>

namespace actorloop::actors::detail {

/// A registered waitable may be ready: (ready_atom, waitable id).
using ready_atom = caf::atom_constant<caf::atom("al_ready")>;
/// More ready waitables are queued: take the next one in a new turn (argument 0).
using continue_atom = caf::atom_constant<caf::atom("al_cont")>;
/// Destroy now (the reason is in the applet record).
using kill_atom = caf::atom_constant<caf::atom("al_kill")>;
/// A significant event: re-run preselect.
using preselect_atom = caf::atom_constant<caf::atom("al_presel")>;
/// Run the dump callback and answer the pending requests.
using dump_atom = caf::atom_constant<caf::atom("al_dump")>;

} // namespace actorloop::actors::detail
