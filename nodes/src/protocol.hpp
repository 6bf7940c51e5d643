#pragma once
// What travels between nodes: requests to a node's directory actor and one
// answer shape for all of them, so that one request runner serves all.
//
//   (lookup,  name, kind, type_name)        -> answer{status, kind, type_name, text}
//   (ident)                                 -> answer{0, 0, node name, ""}
//   (set,     name)                         -> answer{status, 0, "", text}
//   (push,    name, type_name, message items, bool wait)
//                                           -> answer{status, items queued, "", text}
//              items holds one or more values of the queue's type; with wait
//              the directory parks what does not fit and answers once all of
//              it is queued (or the queue is closed or withdrawn)
//   (await,   name)                         -> answer{0, exit code, category, exit text}
//                                              (delayed until the applet is gone)
//   (spawn,   type, scheduler, message args)-> answer{status, 0, applet name, text}
//              the applet is then awaited under that name like an export
// status is 0 or a nodes::errc value; text names the problem.

#include <caf/atom.hpp>

#include <cstdint>
#include <string>

namespace actorloop::nodes::detail {

using lookup_atom = caf::atom_constant<caf::atom("al_lookup")>;
using ident_atom = caf::atom_constant<caf::atom("al_ident")>;
using set_atom = caf::atom_constant<caf::atom("al_set")>;
using push_atom = caf::atom_constant<caf::atom("al_push")>;
using await_atom = caf::atom_constant<caf::atom("al_await")>;
using spawn_atom = caf::atom_constant<caf::atom("al_spawn")>;
// A set or push sent over a push lane, and its answer:
//   (lane, uint64 seq, message request) -> (answer, seq, message answer)
// sent back to the lane's actor as an ordinary message (see push_lane.cpp).
using lane_atom = caf::atom_constant<caf::atom("al_lane")>;
using answer_atom = caf::atom_constant<caf::atom("al_answer")>;
// Local only: an exported queue may have room for parked pushes.
using room_atom = caf::atom_constant<caf::atom("al_room")>;
// Local only: an exported applet was destroyed.
using exited_atom = caf::atom_constant<caf::atom("al_exited")>;
// Local only: the last handle of a push lane is gone.
using drop_atom = caf::atom_constant<caf::atom("al_drop")>;
// Local only: keeps a helper actor's behaviour non-empty.
using nothing_atom = caf::atom_constant<caf::atom("al_none")>;

struct answer {
  std::int32_t status = 0;
  std::int32_t code = 0;
  std::string first;
  std::string second;
};

} // namespace actorloop::nodes::detail
