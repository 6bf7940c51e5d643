#include <actorloop/actors/applet.hpp>

#include "applet_record.hpp"
#include "callbacks_applet.hpp"
#include "messages.hpp"

#include <actorloop/runtime/detail/access.hpp>
#include <actorloop/runtime/detail/grouped_actor.hpp>
#include <actorloop/runtime/detail/sanitizer.hpp>

#include <caf/actor_cast.hpp>
#include <caf/actor_config.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/logger.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/message.hpp>
#include <caf/spawn_options.hpp>

#include <algorithm>
#include <cstddef>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

namespace actorloop::actors {

const char* to_string(applet_state state) noexcept {
  switch (state) {
    case applet_state::starting: return "starting";
    case applet_state::running: return "running";
    case applet_state::destroying: return "destroying";
    case applet_state::destroyed: return "destroyed";
  }
  return "unknown";
}

void applet::init(applet_context&) {
  // Nothing by default: the first preselect may initialise instead.
}

void applet::destroy(applet_context&) {
  // Nothing by default.
}

std::string applet::dump(const applet_context& context) const {
  return "applet '" + context.name() + "'";
}

namespace {

using runtime::errc;
using runtime::error;

std::string describe(const waitable& what) {
  return std::string{runtime::to_string(what.kind())} + " '" + what.name() + "' (id " +
         std::to_string(what.id()) + ")";
}

} // namespace

// -- the applet core: everything that runs on the applet's thread -------------

/// The actors module's view of the applet core (private in applet_context).
struct detail::applet_access {
  using core = applet_context::core;
};

namespace {

using applet_core = detail::applet_access::core;

/// The core whose turn (callback gate held) runs on this thread, if any.
thread_local applet_core* core_in_turn = nullptr;

} // namespace

/// One registered waitable of one applet. Its `on_ready` runs on whatever
/// thread made the waitable ready and turns that into a mailbox message.
struct registration final : runtime::detail::waiter,
                            runtime::detail::deadline_target,
                            std::enable_shared_from_this<registration> {
  registration(waitable what, caf::strong_actor_ptr actor, runtime::detail::scheduler_group& group,
               applet_core& owner)
    : what(std::move(what)), actor(std::move(actor)), group(group), owner(owner) {}

  void on_ready() noexcept override { notify(); }
  void on_deadline(runtime::time_point deadline) noexcept override {
    runtime::detail::schedule_deadline(group, deadline, weak_from_this());
  }
  void on_deadline_reached() noexcept override { notify(); }

  void notify() noexcept;
  /// Rings the applet's doorbell: one (inbox_atom) message per batch.
  void send_doorbell() noexcept;

  waitable what; // emptied when removed, replaced when reused (core::add)
  const caf::strong_actor_ptr actor;
  runtime::detail::scheduler_group& group;
  applet_core& owner; // lives in the applet's actor, which `actor` keeps
  // In the applet's inbox (or about to be); one entry per registration is
  // enough: the applet re-tests readiness when it takes it out.
  std::atomic<bool> message_pending{false};
  // While in the inbox: the next entry, and a reference that keeps this
  // registration alive until the applet (or a closing drain) takes it out.
  registration* next_in_inbox = nullptr;
  std::shared_ptr<registration> inbox_ref;
  // Touched only on the applet's thread:
  bool erased = false;     // no longer in the applet's table
  bool stale = false;      // cleared by clear_wait, not re-added yet
  bool locally_queued = false;
  // The core's FIFO of possibly ready registrations (intrusive: queuing
  // allocates nothing); linked only while locally_queued.
  registration* previous_ready = nullptr;
  registration* next_ready = nullptr;
  std::size_t table_slot = 0; // its position in the core's registration_table
};

/// An applet's doorbell message, (inbox_atom, 0), sent again on every ring
/// that finds it free (see doorbell_slot), so a wake from another thread
/// allocates nothing. CAF disposes a mailbox element through
/// `request_deletion` (mailbox_element_ptr's disposer) once it is done with
/// it: after the actor consumed it, or when the actor's mailbox is closed (an
/// enqueue into a closed mailbox disposes at once; scheduled_actor::cleanup,
/// run by finalize or at the latest by on_destroy before the actor's members
/// go, drains what is left). Here that only marks the element free again.
class doorbell_element final : public caf::mailbox_element {
public:
  explicit doorbell_element(std::atomic<bool>& busy)
    : caf::mailbox_element(caf::strong_actor_ptr{}, caf::make_message_id(),
                           caf::mailbox_element::forwarding_stack{}),
      content_(kind_, argument_), busy_(busy) {}

  /// CAF is done with the element: free for the next ring. Never deletes:
  /// the memory belongs to the applet's actor. Release: CAF's last use of
  /// the element (the consume, the mailbox's links) happens before the next
  /// ring's enqueue, which takes it with an acquire.
  void request_deletion(bool) const noexcept override {
    busy_.store(false, std::memory_order_release);
  }

  caf::type_erased_tuple& content() override { return content_; }
  const caf::type_erased_tuple& content() const override { return content_; }
  caf::message move_content_to_message() override { return caf::make_message(kind_, argument_); }
  caf::message copy_content_to_message() const override {
    return caf::make_message(kind_, argument_);
  }

private:
  // Never written after construction; content_ refers to them.
  caf::atom_value kind_ = detail::inbox_atom::value;
  std::uint64_t argument_ = 0;
  caf::detail::type_erased_tuple_view<caf::atom_value, std::uint64_t> content_;
  std::atomic<bool>& busy_;
};

/// The storage of an applet's doorbell_element, inside the applet's actor.
/// The element is built on the first ring (an applet that is never woken
/// from another thread pays nothing for it at spawn and destruction) and
/// lives until the actor goes. One can be in flight: a ring while it is
/// taken (still in the mailbox, or being consumed) sends an allocated
/// message instead.
class doorbell_slot {
public:
  doorbell_slot() = default;
  doorbell_slot(const doorbell_slot&) = delete;
  doorbell_slot& operator=(const doorbell_slot&) = delete;
  ~doorbell_slot() {
    // The actor is going: CAF's cleanup disposed the element if it was in
    // the mailbox, and every ringer's strong reference is gone.
    if (auto* element = element_.load(std::memory_order_relaxed))
      element->~doorbell_element();
  }

  /// Any thread: the element, taken for one enqueue; null while it is taken.
  /// `actor` is the applet actor's control block.
  [[nodiscard]] caf::mailbox_element* try_take(const caf::actor_control_block* actor) noexcept {
    if (busy_.exchange(true, std::memory_order_acquire))
      return nullptr;
    auto* element = element_.load(std::memory_order_relaxed);
    if (element == nullptr) {
      // Only the holder of busy_ gets here; the enqueue that follows
      // publishes element_ to the applet's thread with the element.
      element = ::new (static_cast<void*>(storage_)) doorbell_element(busy_);
      element_.store(element, std::memory_order_relaxed);
      // TSan builds only: the thread that disposes or destroys the element
      // may be ordered after this one only by CAF's reference count (a ring
      // into a closed mailbox, then another thread drops the last
      // reference); grouped_actor::on_destroy's happens_after takes this.
      runtime::detail::happens_before(actor);
    }
    return element;
  }

  /// Applet thread: whether `element` (being consumed) is the doorbell.
  [[nodiscard]] bool is(const caf::mailbox_element& element) const noexcept {
    auto* built = element_.load(std::memory_order_relaxed);
    return built != nullptr && &element == static_cast<const caf::mailbox_element*>(built);
  }

private:
  std::atomic<bool> busy_{false};
  std::atomic<doorbell_element*> element_{nullptr};
  alignas(doorbell_element) std::byte storage_[sizeof(doorbell_element)];
};

/// An applet's registrations by waitable id. Most applets wait on a handful
/// of waitables: the first `inline_capacity` entries live inside the table
/// (inside the applet's actor, so spawning an applet that waits on a few
/// waitables allocates nothing for them), searched linearly without
/// hashing; beyond that the entries move to the heap, and past
/// `indexed_from` entries (an applet with a thousand timers) a hash index is
/// added. Erasing moves the last entry into the hole, so the order is
/// unspecified, as a hash map's is. Applet thread only; not movable (it
/// points into itself).
class registration_table {
public:
  using value_type = std::pair<std::uint64_t, std::shared_ptr<registration>>;
  using iterator = value_type*;

  registration_table() = default;
  registration_table(const registration_table&) = delete;
  registration_table& operator=(const registration_table&) = delete;

  [[nodiscard]] iterator begin() noexcept { return entries_; }
  [[nodiscard]] iterator end() noexcept { return entries_ + size_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  [[nodiscard]] iterator find(std::uint64_t id) noexcept {
    if (!index_.empty()) {
      auto found = index_.find(id);
      return found == index_.end() ? end() : begin() + found->second->table_slot;
    }
    // No entry has an id above highest_id_: a larger one is a miss without
    // a scan. Each thread takes ids in increasing order, so a waitable made
    // after every entry here by the same thread (the next read of an applet
    // that re-arms each finished operation with a new one) takes this path.
    if (id > highest_id_)
      return end();
    // Another miss scans all entries: the ids sit in their own array and
    // are compared four at a time without a branch each.
    const std::uint64_t* ids = ids_;
    const std::size_t count = size_;
    std::size_t index = 0;
    for (; index + 4 <= count; index += 4)
      if ((ids[index] == id) | (ids[index + 1] == id) | (ids[index + 2] == id) |
          (ids[index + 3] == id))
        break;
    for (; index < count; ++index)
      if (ids[index] == id)
        return begin() + index;
    return end();
  }

  void emplace(std::uint64_t id, std::shared_ptr<registration> entry) {
    if (size_ == capacity_)
      grow(); // may throw: nothing changed yet
    auto slot = size_;
    auto* raw = entry.get();
    ids_[slot] = id;
    entries_[slot] = value_type{id, std::move(entry)};
    ++size_;
    raw->table_slot = slot;
    highest_id_ = std::max(highest_id_, id); // never lowered: stays an upper bound
    try {
      if (!index_.empty()) {
        index_.emplace(id, raw);
      } else if (size_ > indexed_from) {
        index_.reserve(size_ * 2);
        for (auto& [each_id, each] : *this)
          index_.emplace(each_id, each.get());
      }
    } catch (...) {
      // Out of memory: leave the table as it was (a partial index is dropped).
      --size_;
      entries_[size_].second.reset();
      if (size_ <= indexed_from)
        index_.clear();
      throw;
    }
  }

  /// Erases the entry at `position`; returns the position of the entry
  /// that moved into it (or end()).
  iterator erase(iterator position) noexcept {
    auto slot = static_cast<std::size_t>(position - begin());
    if (!index_.empty())
      index_.erase(position->first);
    auto last = size_ - 1;
    if (slot != last) {
      *position = std::move(entries_[last]);
      ids_[slot] = ids_[last];
      position->second->table_slot = slot; // the index maps to the entry, not the slot
    }
    --size_;
    // Drops the erased entry's reference (as the vector's pop_back did).
    auto dropped = std::move(entries_[last].second);
    if (size_ == 0)
      index_.clear();
    return begin() + slot;
  }

  void erase(std::uint64_t id) noexcept {
    if (auto position = find(id); position != end())
      erase(position);
  }

private:
  /// Doubles the capacity, moving the entries to the heap.
  void grow() {
    auto capacity = capacity_ * 2;
    auto ids = std::make_unique<std::uint64_t[]>(capacity);
    auto entries = std::make_unique<value_type[]>(capacity);
    for (std::size_t index = 0; index < size_; ++index) {
      ids[index] = ids_[index];
      entries[index] = std::move(entries_[index]);
    }
    ids_ = ids.get();
    entries_ = entries.get();
    heap_ids_ = std::move(ids);
    heap_entries_ = std::move(entries);
    capacity_ = capacity;
  }

  static constexpr std::size_t inline_capacity = 4;
  static constexpr std::size_t indexed_from = 16;
  value_type inline_entries_[inline_capacity];
  std::uint64_t inline_ids_[inline_capacity] = {};
  std::unique_ptr<value_type[]> heap_entries_;
  std::unique_ptr<std::uint64_t[]> heap_ids_;
  value_type* entries_ = inline_entries_; // entries_[i].first == ids_[i]
  std::uint64_t* ids_ = inline_ids_;      // contiguous for find
  std::size_t size_ = 0;
  std::size_t capacity_ = inline_capacity;
  std::uint64_t highest_id_ = 0; // no entry has a larger id
  std::unordered_map<std::uint64_t, registration*> index_; // empty while small
};

/// Everything of one applet that only its thread touches. It lives inside
/// the applet's CAF actor (one allocation for both).
struct applet_context::core {
  core(std::unique_ptr<applet> body, std::shared_ptr<detail::applet_record> record)
    : body(std::move(body)), record(std::move(record)) {}
  core(const core&) = delete;
  core& operator=(const core&) = delete;

  std::unique_ptr<applet> body;
  std::shared_ptr<detail::applet_record> record;
  runtime::detail::grouped_actor* self = nullptr;

  using registration_map = registration_table;
  registration_table registrations;
  // Registrations that remove_wait took out, kept for add to reuse (see
  // retire): an applet that replaces a finished operation's wait by the
  // next one's allocated and freed one per event.
  static constexpr std::size_t spare_capacity = 4;
  std::vector<std::shared_ptr<registration>> spares;
  // FIFO of possibly ready registrations, linked through the registrations
  // themselves; every entry is also in `registrations`, which owns it.
  registration* ready_head = nullptr;
  registration* ready_tail = nullptr;
  // The registration whose waitable postselect is handling now (run_turn
  // holds a reference), so that remove_wait of that waitable, the usual
  // first step of re-arming it, finds its table slot without a search.
  registration* dispatching = nullptr;
  // Registrations made ready by other threads, pushed by `registration::
  // notify` (a lock-free stack; the applet takes it whole on each doorbell).
  std::atomic<registration*> inbox{nullptr};
  // Set by destroy: a notifier that pushes after it drains the inbox itself.
  std::atomic<bool> inbox_closed{false};
  // Rung by the notifier whose push found the inbox empty (send_doorbell).
  doorbell_slot doorbell;
  bool cleared = false;
  bool continue_pending = false;
  bool destroy_started = false;
  bool self_killed = false;
  bool in_gate = false; // this turn holds the record's callback gate

  // -- the callback gate ------------------------------------------------------
  //
  // Each turn (a message handled) holds the gate while it may run callbacks,
  // so applet_handle::kill from another thread can wait until the turn ends:
  // once kill() returns, no callback runs or starts (lifetime rule 3).

  /// Enters the gate for this turn; false (and destroys) once killed.
  bool open_gate() {
    if (in_gate)
      return true;
    if (!record->enter_callback()) {
      stop_if_killed();
      return false;
    }
    in_gate = true;
    core_in_turn = this;
    return true;
  }

  void close_gate() noexcept {
    if (!in_gate)
      return;
    in_gate = false;
    core_in_turn = nullptr;
    record->leave_callback();
  }

  /// Runs one turn inside the gate.
  template <class F>
  void turn(F&& body_of_turn) {
    if (destroy_started || !open_gate())
      return;
    struct close_on_exit {
      core& owner;
      ~close_on_exit() { owner.close_gate(); }
    } closer{*this};
    body_of_turn();
    // A callback may have woken one of this applet's own registrations
    // (queued locally, see registration::notify) in a turn that does not
    // dispatch, such as dump.
    schedule_continue();
  }

  // -- callbacks, each contained ------------------------------------------------

  template <class F>
  bool guarded(const char* callback, F&& f) {
    try {
      f();
      return true;
    } catch (const std::exception& failure) {
      fail(callback, failure.what());
    } catch (...) {
      fail(callback, "an exception not derived from std::exception");
    }
    return false;
  }

  void fail(const char* callback, const std::string& text) {
    destroy(exit_reason{errc::callback_threw,
                        "applet '" + record->name() + "': " + callback + " threw: " + text});
  }

  [[nodiscard]] bool killed() const noexcept {
    return destroy_started || self_killed || record->kill_requested.load(std::memory_order_acquire);
  }

  void start() {
    turn([&] { start_in_gate(); });
  }

  void start_in_gate() {
    auto expected = applet_state::starting;
    record->state.compare_exchange_strong(expected, applet_state::running);
    applet_context context{*this};
    if (!guarded("init", [&] { body->init(context); }))
      return;
    if (stop_if_killed())
      return;
    run_preselect();
    run_turn();
  }

  void run_preselect() {
    applet_context context{*this};
    if (!guarded("preselect", [&] { body->preselect(context); }))
      return;
    commit();
    stop_if_killed();
  }

  /// Drops registrations that clear_wait removed and preselect did not re-add.
  void commit() {
    if (!cleared)
      return;
    cleared = false;
    for (auto position = registrations.begin(); position != registrations.end();) {
      if (position->second->stale) {
        position = erase_registration(position);
      } else {
        ++position;
      }
    }
    record->waits.store(registrations.size(), std::memory_order_relaxed);
  }

  bool stop_if_killed() {
    if (!killed())
      return false;
    destroy(self_killed ? exit_reason{} : record->requested_reason());
    return true;
  }

  // -- events -------------------------------------------------------------------

  /// Any thread: pushes `entry` (its inbox_ref set); true if the inbox was
  /// empty, so the caller must ring the doorbell.
  bool push_inbox(registration& entry) noexcept {
    auto* head = inbox.load(std::memory_order_relaxed);
    do {
      entry.next_in_inbox = head;
    } while (!inbox.compare_exchange_weak(head, &entry, std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
    return head == nullptr;
  }

  /// Takes the inbox whole; the entries in the order they were pushed.
  registration* take_inbox() noexcept {
    auto* head = inbox.exchange(nullptr, std::memory_order_seq_cst);
    registration* fifo = nullptr;
    while (head != nullptr) {
      auto* next = head->next_in_inbox;
      head->next_in_inbox = fifo;
      fifo = head;
      head = next;
    }
    return fifo;
  }

  /// Once closed (any thread): drops the inbox's references.
  void drain_closed_inbox() noexcept {
    for (auto* entry = take_inbox(); entry != nullptr;) {
      auto* next = entry->next_in_inbox;
      entry->next_in_inbox = nullptr;
      auto dropped = std::move(entry->inbox_ref); // may destroy *entry
      entry = next;
    }
  }

  /// A doorbell message (the preallocated element or an allocated one).
  void on_doorbell() {
    turn([&] { on_inbox(); });
  }

  /// The doorbell: queues every registration made ready since the last one
  /// and dispatches.
  void on_inbox() {
    for (auto* entry = take_inbox(); entry != nullptr;) {
      auto* next = entry->next_in_inbox;
      entry->next_in_inbox = nullptr;
      auto keep = std::move(entry->inbox_ref);
      entry->message_pending.store(false, std::memory_order_release);
      // An erased registration only waited for this reference to go.
      if (!entry->erased)
        queue_locally(*entry);
      entry = next;
    }
    run_turn();
  }

  void queue_locally(registration& entry) noexcept {
    if (entry.locally_queued)
      return;
    entry.locally_queued = true;
    entry.next_ready = nullptr;
    entry.previous_ready = ready_tail;
    (ready_tail ? ready_tail->next_ready : ready_head) = &entry;
    ready_tail = &entry;
  }

  void unqueue(registration& entry) noexcept {
    if (!entry.locally_queued)
      return;
    entry.locally_queued = false;
    (entry.previous_ready ? entry.previous_ready->next_ready : ready_head) = entry.next_ready;
    (entry.next_ready ? entry.next_ready->previous_ready : ready_tail) = entry.previous_ready;
    entry.previous_ready = entry.next_ready = nullptr;
  }

  [[nodiscard]] bool ready_empty() const noexcept { return ready_head == nullptr; }

  /// Drops a registration: out of the ready FIFO, detached, erased.
  registration_map::iterator erase_registration(registration_map::iterator position) noexcept {
    unqueue(*position->second);
    position->second->erased = true;
    runtime::detail::access::state(position->second->what)->detach(*position->second);
    return registrations.erase(position);
  }

  /// Makes sure a turn follows while ready registrations are queued.
  void schedule_continue() {
    if (!ready_empty() && !continue_pending && !destroy_started) {
      continue_pending = true;
      self->send(self, detail::continue_atom::value, std::uint64_t{0});
    }
  }

  /// Dispatches up to the scheduler's `throughput` ready waitables (each
  /// followed by preselect), then yields with a message to itself if more
  /// are queued, so that the scheduler's other applets get their turns
  /// (with throughput 1, ready applets alternate one dispatch each).
  void run_turn() {
    const std::size_t dispatches_per_turn = runtime::detail::throughput_of(self->group());
    std::size_t dispatched = 0;
    while (!ready_empty() && !killed()) {
      // A strong reference: postselect may remove this registration.
      auto entry = ready_head->shared_from_this();
      unqueue(*entry);
      auto& state = *runtime::detail::access::state(entry->what);
      if (!state.try_consume(entry.get())) {
        if (state.is_closed())
          remove(entry->what);
        continue; // Not ready (any more): a spurious or stale wake.
      }
      {
        struct dispatching_scope {
          registration*& slot;
          ~dispatching_scope() { slot = nullptr; }
        } scope{dispatching};
        dispatching = entry.get();
        dispatch(entry->what);
      }
      if (killed())
        break;
      // Level-triggered: still ready means another turn, after the others.
      // A registration still in the table is not erased (`entry` keeps it
      // from being reused meanwhile); one that postselect removed and a new
      // one re-added for the same waitable was queued by its attach if
      // ready. So no look-up by id is needed here.
      if (!entry->erased && state.ready_for(entry.get()))
        queue_locally(*entry);
      if (++dispatched == dispatches_per_turn)
        break;
    }
    if (stop_if_killed())
      return;
    schedule_continue();
  }

  void dispatch(const waitable& fired) {
    applet_context context{*this};
    waitable next = fired;
    while (next) {
      auto current = std::move(next);
      count_dispatch();
      if (!guarded("postselect", [&] { next = body->postselect(context, current); }))
        return;
      commit();
      if (killed())
        break;
      if (next && registrations.find(next.id()) == registrations.end()) {
        // A chained event nobody here waits on: dropped, as in the original,
        // but counted so it is not silent.
        record->chained_dropped.fetch_add(1, std::memory_order_relaxed);
        next = waitable{};
      }
    }
    if (stop_if_killed())
      return;
    run_preselect();
  }

  void count_dispatch() {
    // Only this applet's turn writes it (turns never overlap): a plain
    // increment, no locked read-modify-write; readers load it.
    record->events_dispatched.store(
      record->events_dispatched.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    runtime::detail::count_dispatch(self->group());
  }

  // -- registrations --------------------------------------------------------------

  void add(const waitable& what) {
    if (!what)
      throw error(errc::invalid_argument, "applet '" + record->name() + "': add_wait of an empty waitable");
    if (destroy_started)
      throw error(errc::invalid_argument,
                  "applet '" + record->name() + "': add_wait while being destroyed");
    auto found = registrations.find(what.id());
    if (found != registrations.end()) {
      if (found->second->stale) {
        found->second->stale = false;
        return;
      }
      throw error(errc::already_waiting, "applet '" + record->name() + "': add_wait: " +
                                           describe(what) +
                                           " is already registered (remove_wait or clear_wait first)");
    }
    auto entry = reuse_spare(what);
    if (!entry)
      entry = std::make_shared<registration>(what, caf::actor_cast<caf::strong_actor_ptr>(self),
                                             self->group(), *this);
    // The table takes the reference (no count touched); it keeps the
    // registration alive for `raw` until the erase below, if any.
    auto* raw = entry.get();
    registrations.emplace(what.id(), std::move(entry));
    if (auto failure = runtime::detail::access::state(what)->attach(*raw)) {
      unqueue(*raw); // attach may have found it ready before failing
      registrations.erase(what.id());
      throw error(failure, "applet '" + record->name() + "': add_wait: " + describe(what));
    }
    record->waits.store(registrations.size(), std::memory_order_relaxed);
  }

  bool remove(const waitable& what) {
    // An erased registration is in no slot; one that is not sits at its
    // table_slot (kept up to date by the table).
    auto found = dispatching != nullptr && !dispatching->erased && dispatching->what == what
                   ? registrations.begin() + static_cast<std::ptrdiff_t>(dispatching->table_slot)
                   : registrations.find(what.id());
    if (found == registrations.end() || found->second->what != what)
      return false;
    retire(found);
    record->waits.store(registrations.size(), std::memory_order_relaxed);
    return true;
  }

  /// As erase_registration, but the registration is kept in `spares` for
  /// add to reuse, its waitable let go of now. Not for timers: the group's
  /// deadline list may still hold a weak reference to theirs and call it.
  void retire(registration_map::iterator position) noexcept {
    auto& entry = *position->second;
    unqueue(entry);
    entry.erased = true;
    runtime::detail::access::state(entry.what)->detach(entry);
    if (runtime::detail::access::state(entry.what)->kind() == runtime::waitable_kind::timer ||
        !make_room_for_spares()) {
      registrations.erase(position);
      return;
    }
    // Detached: no thread but this one touches the registration any more,
    // except through references counted in use_count (the inbox, a turn
    // dispatching it), which reuse_spare waits out.
    auto kept = std::move(position->second);
    registrations.erase(position);
    kept->what = waitable{};
    if (spares.size() == spare_capacity)
      spares.erase(spares.begin()); // the oldest goes (freed when unused)
    spares.push_back(std::move(kept));
  }

  /// Reserves `spares` on first use (an applet that never calls remove_wait
  /// allocates nothing for it); false when out of memory.
  bool make_room_for_spares() noexcept {
    if (spares.capacity() != 0)
      return true;
    try {
      spares.reserve(spare_capacity);
      return true;
    } catch (...) {
      return false; // Out of memory: no reuse, nothing else changes.
    }
  }

  /// A spare registration nobody else references any more, made to wait
  /// for `what`; null if there is none.
  std::shared_ptr<registration> reuse_spare(const waitable& what) {
    for (auto position = spares.begin(); position != spares.end(); ++position) {
      if (position->use_count() != 1)
        continue; // Still in the inbox or in a turn's hands.
      auto entry = std::move(*position);
      spares.erase(position);
      entry->what = what;
      entry->erased = false;
      entry->stale = false;
      entry->message_pending.store(false, std::memory_order_relaxed);
      return entry;
    }
    return nullptr;
  }

  void clear() {
    cleared = true;
    for (auto& [id, entry] : registrations)
      entry->stale = true;
  }

  // -- the end ----------------------------------------------------------------------

  void destroy(exit_reason reason) {
    if (destroy_started)
      return;
    destroy_started = true;
    // A killer waits for callbacks, not for destroy.
    close_gate();
    record->state.store(applet_state::destroying);
    while (!registrations.empty())
      erase_registration(registrations.begin());
    spares.clear(); // each holds a reference to this applet's actor
    // Drop what is still in the inbox; a timer's late notify that pushes
    // after this sees the flag and drains for itself (see notify).
    inbox_closed.store(true, std::memory_order_seq_cst);
    drain_closed_inbox();
    record->waits.store(0);
    applet_context context{*this};
    try {
      body->destroy(context);
    } catch (...) {
      // The applet is going anyway; the first reason stands.
    }
    body.reset(); // The user's object dies on the scheduler thread too.
    if (auto* registry = record->registry)
      registry->remove(*record);
    // Leave the scheduler before the handle becomes ready, so that whoever
    // wakes on the handle sees the applet gone from every count.
    runtime::detail::detach_member(self->group(), *record);
    record->finish(std::move(reason));
    self->quit();
  }

  void on_message(caf::atom_value kind) {
    switch (static_cast<std::uint64_t>(kind)) {
      case detail::inbox_atom::uint_value():
        on_doorbell();
        break;
      case detail::continue_atom::uint_value():
        continue_pending = false;
        turn([&] { run_turn(); });
        break;
      case detail::kill_atom::uint_value():
        stop_if_killed();
        break;
      case detail::preselect_atom::uint_value():
        turn([&] {
          run_preselect();
          run_turn();
        });
        break;
      case detail::dump_atom::uint_value():
        // A killed applet's dump is not run: once kill() has returned, none
        // of its callbacks starts. The destroy answers pending dumps with "".
        turn([&] { answer_dump(); });
        break;
      default:
        // Only actorloop itself sends to an applet's actor.
        break;
    }
  }

  void answer_dump() {
    std::string text;
    if (body) {
      applet_context context{*this};
      try {
        text = body->dump(context);
      } catch (const std::exception& failure) {
        text = std::string{"dump threw: "} + failure.what();
      } catch (...) {
        // Contained like every other callback's exception.
        text = "dump threw: an exception not derived from std::exception";
      }
    }
    record->answer_dumps(text);
  }
};

void registration::send_doorbell() noexcept {
  runtime::detail::grouped_actor::send_to(actor.get(), [&] {
    auto* unit = runtime::detail::current_execution_unit();
    // `actor` keeps the applet's actor, and so the element inside it, alive
    // through this enqueue, including a dispose into a closed mailbox.
    if (auto* element = owner.doorbell.try_take(actor.get())) {
      actor->enqueue(caf::mailbox_element_ptr{element}, unit);
      return;
    }
    // The element is still in the mailbox or being consumed: the applet may
    // already have taken the inbox in this turn, so this ring must arrive.
    actor->enqueue(nullptr, caf::make_message_id(),
                   caf::make_message(detail::inbox_atom::value, std::uint64_t{0}), unit);
  });
}

void registration::notify() noexcept {
  // Woken from inside its own applet's turn (a callback set the event it
  // waits on): queue it for this turn's dispatch loop directly, without a
  // mailbox message and a CAF resume.
  if (core_in_turn == &owner) {
    owner.queue_locally(*this);
    return;
  }
  if (message_pending.exchange(true, std::memory_order_acq_rel))
    return; // Already in the inbox: the applet re-tests readiness then.
  inbox_ref = shared_from_this();
  if (owner.push_inbox(*this))
    send_doorbell();
  // A timer's notify can race with the applet's destroy (the worker holds
  // the registration through its weak reference): whichever of the two
  // comes second drains, so no reference cycle is left behind.
  if (owner.inbox_closed.load(std::memory_order_seq_cst))
    owner.drain_closed_inbox();
}

namespace {

/// The CAF actor that carries one applet, its core inside (one allocation).
class applet_actor final : public runtime::detail::grouped_actor {
public:
  applet_actor(caf::actor_config& config, std::unique_ptr<applet>& body,
               std::shared_ptr<detail::applet_record>& record)
    : grouped_actor(config, runtime::detail::access::group(record->home)),
      core_(std::move(body), std::move(record)) {
    core_.self = this;
  }

  /// The doorbell element goes straight to its turn; CAF's path (its
  /// categorize and the behavior's match) would end in the same handler.
  /// Every other message takes that path. Returning `consumed` lets CAF's
  /// reactivate finalize an applet whose turn quit (destroy).
  caf::invoke_message_result consume(caf::mailbox_element& element) override {
    if (!core_.doorbell.is(element))
      return grouped_actor::consume(element);
    current_mailbox_element(&element);
    handle([&] { core_.on_doorbell(); });
    return caf::invoke_message_result::consumed;
  }

  caf::behavior make_behavior() override {
    handle([&] { core_.start(); });
    if (core_.destroy_started)
      return {};
    // One handler for every message kind: a single match case is cheaper to
    // build per applet and to match per message than one case per kind.
    return {
      [this](caf::atom_value kind, std::uint64_t) {
        handle([&] { core_.on_message(kind); });
      },
    };
  }

private:
  applet_core core_;
};

} // namespace

// -- applet_context -----------------------------------------------------------

void applet_context::add_wait(const waitable& what) {
  core_->add(what);
}

void applet_context::wait_on(const waitable& what) {
  if (!waiting_on(what))
    core_->add(what);
}

bool applet_context::remove_wait(const waitable& what) {
  return core_->remove(what);
}

void applet_context::clear_wait() {
  core_->clear();
}

bool applet_context::waiting_on(const waitable& what) const {
  auto found = core_->registrations.find(what.id());
  return found != core_->registrations.end() && !found->second->stale;
}

std::size_t applet_context::wait_count() const {
  std::size_t count = 0;
  for (auto& [id, entry] : core_->registrations)
    count += entry->stale ? 0 : 1;
  return count;
}

void applet_context::kill() {
  core_->self_killed = true;
}

bool applet_context::destroying() const {
  return core_->killed();
}

const std::string& applet_context::name() const {
  return core_->record->name();
}

applet_handle applet_context::self() const {
  return applet_handle{core_->record};
}

runtime::scheduler applet_context::scheduler() const {
  return core_->record->home;
}

runtime::engine& applet_context::engine() const {
  return core_->record->owner;
}

// -- applet_handle --------------------------------------------------------------

namespace {

detail::applet_record& record_of(const applet_handle& handle) {
  if (!runtime::detail::access::state(handle))
    throw error(errc::invalid_argument, "operation on an empty applet handle");
  return static_cast<detail::applet_record&>(*runtime::detail::access::state(handle));
}

} // namespace

const std::string& applet_handle::scheduler_name() const {
  return record_of(*this).home.name();
}

applet_state applet_handle::state() const {
  return record_of(*this).state.load();
}

void applet_handle::kill() {
  record_of(*this).kill_and_wait_out_callback();
}

actors::exit_reason applet_handle::exit_reason() const {
  return record_of(*this).reason();
}

std::string applet_handle::dump(runtime::duration timeout) const {
  runtime::detail::refuse_blocking_on_scheduler("applet_handle::dump");
  auto answer = record_of(*this).request_dump();
  if (answer.wait_for(timeout) != std::future_status::ready)
    throw error(errc::timed_out, "applet '" + name() + "': dump did not answer in time");
  return answer.get();
}

// -- spawning -----------------------------------------------------------------------

applet_handle spawn_applet(runtime::engine& engine, const runtime::scheduler& home,
                           std::unique_ptr<applet> body, std::string name) {
  if (!body)
    throw error(errc::invalid_argument, "spawn_applet: null applet");
  if (!home)
    throw error(errc::invalid_argument, "spawn_applet: empty scheduler handle");
  auto& group = runtime::detail::access::group(home);
  // The handle must be one of this engine's schedulers, current or removed:
  // an applet lives in its engine's registry and actor system.
  if (&runtime::detail::owner_of(group) != &engine)
    throw error(errc::invalid_argument,
                "spawn_applet: scheduler '" + home.name() + "' belongs to another engine");
  if (name.empty())
    name = "applet";
  auto& registry = detail::registry_of(engine);
  auto record = std::make_shared<detail::applet_record>(std::move(name), home, engine);
  applet_handle handle{record};
  // Spawned on a worker of a multi-worker `home` (an applet's callback
  // spawning a child there): the first turn goes to that worker's own queue,
  // where the child's memory is warm and no sibling is woken per spawn;
  // otherwise the shared queue (see docs/runtime.md, "Placement of spawned
  // applets").
  caf::actor_config config{runtime::detail::spawn_placement(group)};
  // CAF's spawn_impl in its two steps, make and launch, with the binding in
  // between: the record gets its actor before anyone else can reach the
  // record (its scheduler, the registry, the handle), so binding takes no
  // lock and no kill can have come first. The actor moves body and its copy
  // of the record out of these lvalues.
  auto& system = engine.actor_system();
  if (config.host == nullptr)
    config.host = system.dummy_execution_unit();
  caf::logger::set_current_actor_system(&system);
  auto actor_record = record;
  auto actor = caf::make_actor<applet_actor>(system.next_actor_id(), system.node(), &system,
                                             config, body, actor_record);
  auto* launched = static_cast<applet_actor*>(caf::actor_cast<caf::abstract_actor*>(actor));
  // The record takes this thread's reference: the applet's own thread drops
  // it (finish), so the actor is never destroyed here once launched. Until
  // launch nothing else can drop it: finish runs only on the applet's turn.
  record->bind_unpublished(caf::actor_cast<caf::strong_actor_ptr>(std::move(actor)));
  if (auto failure = runtime::detail::attach_member(group, *record)) {
    // Never launched: the actor (and the user's object in it) goes here.
    record->unbind_unpublished();
    throw error(failure, "spawn_applet: scheduler '" + home.name() + "' is stopping");
  }
  record->registry = &registry;
  registry.add(record);
  launched->launch(config.host, false, false);
  return handle;
}

applet_handle spawn_applet(runtime::engine& engine, std::string_view scheduler_name,
                           std::unique_ptr<applet> body, std::string name) {
  if (!body)
    throw error(errc::invalid_argument, "spawn_applet: null applet");
  return spawn_applet(engine, engine.get_scheduler(scheduler_name), std::move(body),
                      std::move(name));
}

applet_handle spawn_applet(runtime::engine& engine, std::string_view scheduler_name,
                           applet_callbacks callbacks) {
  auto name = callbacks.name;
  return spawn_applet(engine, scheduler_name,
                      std::make_unique<detail::callbacks_applet>(std::move(callbacks)), std::move(name));
}

applet_handle spawn_applet(runtime::engine& engine, const runtime::scheduler& home,
                           applet_callbacks callbacks) {
  auto name = callbacks.name;
  return spawn_applet(engine, home, std::make_unique<detail::callbacks_applet>(std::move(callbacks)),
                      std::move(name));
}

} // namespace actorloop::actors
