#pragma once
// The messages an applet actor's mailbox carries: all are (kind, argument).

#include <caf/atom.hpp>

namespace actorloop::actors::detail {

/// Registrations were pushed onto the applet's inbox (argument 0): one
/// message for every registration that became ready since the last one.
using inbox_atom = caf::atom_constant<caf::atom("al_inbox")>;
/// More ready waitables are queued: take the next one in a new turn (argument 0).
using continue_atom = caf::atom_constant<caf::atom("al_cont")>;
/// Destroy now (the reason is in the applet record).
using kill_atom = caf::atom_constant<caf::atom("al_kill")>;
/// A significant event: re-run preselect.
using preselect_atom = caf::atom_constant<caf::atom("al_presel")>;
/// Run the dump callback and answer the pending requests.
using dump_atom = caf::atom_constant<caf::atom("al_dump")>;

} // namespace actorloop::actors::detail
