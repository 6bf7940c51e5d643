#include <actorloop/netio/detail/io_worker.hpp>

#include <actorloop/netio/detail/socket_ops.hpp>

#include <actorloop/netio/error.hpp>
#include <actorloop/runtime/detail/access.hpp>
#include <actorloop/runtime/detail/grouped_actor.hpp>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace actorloop::netio::detail {

namespace {

using drain_atom = caf::atom_constant<caf::atom("io_drain")>;

/// The CAF actor of an I/O worker: its mailbox carries "run the commands"
/// doorbells; the commands themselves sit in the worker's own queue, so a
/// burst of posts costs one message.
class io_worker_actor final : public runtime::detail::grouped_actor {
public:
  io_worker_actor(caf::actor_config& config, runtime::detail::scheduler_group& group,
                  io_worker* owner)
    : grouped_actor(config, group), owner_(owner) {}

  caf::behavior make_behavior() override {
    return {
      [this](drain_atom) { handle([&] { owner_->drain_commands(); }); },
    };
  }

private:
  io_worker* owner_;
};

constexpr int max_events_per_wait = 128;

} // namespace

// -- io_worker -------------------------------------------------------------------

io_worker::io_worker(runtime::engine& engine, std::size_t index)
  : engine_(engine), index_(index), name_("io." + std::to_string(index)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0)
    throw error(errc::system_failure,
                name_ + ": epoll_create1 failed: " + std::strerror(errno));
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    auto failed = errno;
    close(epoll_fd_);
    throw error(errc::system_failure, name_ + ": eventfd failed: " + std::strerror(failed));
  }
  epoll_event entry{};
  entry.events = EPOLLIN;
  entry.data.ptr = nullptr; // nullptr marks the wake descriptor
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &entry);
}

io_worker::~io_worker() {
  if (wake_fd_ >= 0)
    close(wake_fd_);
  if (epoll_fd_ >= 0)
    close(epoll_fd_);
}

void io_worker::start(const io_pool_options& options) {
  runtime::scheduler_options scheduler;
  scheduler.name = name_;
  scheduler.threads = 1;
  if (!options.cpus.empty()) {
    auto& cpus = options.cpus.cpus();
    scheduler.cpus = runtime::cpu_set{{cpus[index_ % cpus.size()]}};
  }
  scheduler.priority = options.priority;
  spin_ = options.spin;
  // The pool owns this worker and outlives the scheduler's threads (engine
  // extensions are destroyed after every scheduler stopped); the group only
  // borrows it.
  std::shared_ptr<idle_poller> borrowed{std::shared_ptr<idle_poller>{}, this};
  scheduler_ = runtime::detail::create_polled_scheduler(engine_, scheduler, borrowed);
  auto& group = runtime::detail::access::group(*scheduler_);
  if (auto failure = runtime::detail::attach_member(group, *this))
    throw error(failure, name_ + ": scheduler stopped while starting");
  actor_ = engine_.actor_system().spawn<io_worker_actor>(group, this);
  // Learn the worker's thread before anything is posted.
  auto ids = scheduler_->thread_ids();
  thread_id_.store(ids.at(0), std::memory_order_release);
  native_thread_id_.store(scheduler_->native_thread_ids().at(0), std::memory_order_release);
}

void io_worker::wait(const runtime::time_point* deadline) noexcept {
  // The group counts this worker parked while it spins here: a job pushed
  // meanwhile rings the wake descriptor, which the polling sees like a socket.
  if (spin_ > runtime::duration::zero() && spin_before_sleep(deadline))
    return;
  int timeout = -1;
  if (deadline) {
    auto left = *deadline - runtime::clock::now();
    if (left <= runtime::duration::zero()) {
      timeout = 0;
    } else {
      // Round up: waking early would only make the worker park again.
      auto milliseconds = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      timeout = static_cast<int>(std::min<long long>(milliseconds, 60'000));
    }
  }
  dispatch(timeout);
}

bool io_worker::spin_before_sleep(const runtime::time_point* deadline) noexcept {
  auto end = runtime::clock::now() + spin_;
  if (deadline && *deadline < end)
    end = *deadline;
  // Only this thread writes the figures: plain stores, no locked adds.
  spins_.store(spins_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  for (;;) {
    // epoll_wait with no timeout is the poll: a system call, but no sleep,
    // and it hands over whatever is ready at once.
    if (dispatch(0) > 0) {
      spins_found_work_.store(spins_found_work_.load(std::memory_order_relaxed) + 1,
                              std::memory_order_relaxed);
      return true;
    }
    auto now = runtime::clock::now();
    if (now >= end)
      return deadline != nullptr && now >= *deadline; // a due timer: back to the loop
  }
}

void io_worker::poll_ready() noexcept {
  dispatch(0);
}

void io_worker::wake() noexcept {
  std::uint64_t one = 1;
  // EAGAIN means the counter is non-zero already: the wake is pending anyway.
  [[maybe_unused]] auto written = write(wake_fd_, &one, sizeof one);
}

int io_worker::dispatch(int timeout_milliseconds) noexcept {
  std::array<epoll_event, max_events_per_wait> events;
  int count = epoll_wait(epoll_fd_, events.data(), max_events_per_wait, timeout_milliseconds);
  if (count <= 0)
    return count;
  dispatching_ = true;
  for (int index = 0; index < count; ++index) {
    auto* handler = static_cast<io_handler*>(events[index].data.ptr);
    if (handler == nullptr) {
      std::uint64_t value = 0;
      [[maybe_unused]] auto got = read(wake_fd_, &value, sizeof value);
      continue;
    }
    if (!removed_in_batch_.empty() && removed_in_batch_.contains(handler))
      continue;
    // Only this thread writes the figure: a plain store, no locked add.
    readiness_events_.store(readiness_events_.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
    handler->on_io(events[index].events);
  }
  dispatching_ = false;
  removed_in_batch_.clear();
  return count;
}

std::error_code io_worker::add(int fd, std::uint32_t events, io_handler& handler) {
  epoll_event entry{};
  entry.events = events;
  entry.data.ptr = &handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &entry) != 0)
    return socket_error(errno);
  handlers_.insert(&handler);
  removed_in_batch_.erase(&handler);
  socket_count_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

std::error_code io_worker::modify(int fd, std::uint32_t events, io_handler& handler) {
  epoll_event entry{};
  entry.events = events;
  entry.data.ptr = &handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &entry) != 0)
    return socket_error(errno);
  interest_changes_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

void io_worker::remove(int fd, io_handler& handler) noexcept {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  if (handlers_.erase(&handler) != 0)
    socket_count_.fetch_sub(1, std::memory_order_relaxed);
  if (dispatching_)
    removed_in_batch_.insert(&handler);
}

bool io_worker::post(std::function<void()> command) {
  bool ring = false;
  {
    std::lock_guard guard{mailbox_mutex_};
    if (stopped_.load())
      return false;
    mailbox_.push_back(std::move(command));
    if (!doorbell_rung_) {
      doorbell_rung_ = true;
      ring = true;
    }
  }
  if (ring) {
    auto* control = caf::actor_cast<caf::actor_control_block*>(actor_);
    runtime::detail::grouped_actor::send_to(control, [&] {
      control->get()->enqueue(nullptr, caf::make_message_id(), caf::make_message(drain_atom::value),
                              runtime::detail::current_execution_unit());
    });
  }
  return true;
}

bool io_worker::run_or_post(std::function<void()> command) {
  if (on_this_thread() && !stopped_.load()) {
    command();
    return true;
  }
  return post(std::move(command));
}

void io_worker::drain_commands() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard guard{mailbox_mutex_};
    batch.swap(mailbox_);
    doorbell_rung_ = false;
  }
  for (auto& command : batch) {
    commands_.fetch_add(1, std::memory_order_relaxed);
    command();
  }
}

void io_worker::request_shutdown() noexcept {
  stopping_.store(true);
  // Runs on the worker: close every socket, run what was posted, then leave.
  auto finish = [this] {
    drain_commands();
    std::vector<io_handler*> remaining{handlers_.begin(), handlers_.end()};
    for (auto* handler : remaining)
      if (handlers_.contains(handler))
        handler->on_worker_stopping();
    {
      std::lock_guard guard{mailbox_mutex_};
      stopped_.store(true);
    }
    drain_commands(); // commands posted by the stopping handlers
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
    // The engine's teardown may free the actor on another thread; TSan cannot
    // see the reference count inside the uninstrumented libcaf_core, so state
    // that this reference is gone before that.
    runtime::detail::happens_before(caf::actor_cast<caf::actor_control_block*>(actor_));
    actor_ = nullptr;
    runtime::detail::detach_member(runtime::detail::access::group(*scheduler_), *this);
  };
  if (!post(finish)) {
    runtime::detail::detach_member(runtime::detail::access::group(*scheduler_), *this);
  }
}

io_worker_stats io_worker::stats() const {
  io_worker_stats result;
  result.name = name_;
  result.sockets = socket_count_.load(std::memory_order_relaxed);
  result.readiness_events = readiness_events_.load(std::memory_order_relaxed);
  result.commands = commands_.load(std::memory_order_relaxed);
  result.interest_changes = interest_changes_.load(std::memory_order_relaxed);
  result.thread = thread_id_.load();
  result.native_thread = native_thread_id_.load();
  result.scheduler = scheduler_ ? scheduler_->name() : name_;
  result.spins = spins_.load(std::memory_order_relaxed);
  result.spins_found_work = spins_found_work_.load(std::memory_order_relaxed);
  return result;
}

void io_worker::schedule_deadline(runtime::time_point deadline,
                                  std::weak_ptr<runtime::detail::deadline_target> target) {
  runtime::detail::schedule_deadline(runtime::detail::access::group(*scheduler_), deadline, std::move(target));
}

// -- io_pool ------------------------------------------------------------------------

void io_pool::start(const io_pool_options& options) {
  std::lock_guard guard{mutex_};
  if (started_.load())
    throw error(errc::invalid_argument, "the I/O workers were started already");
  if (options.workers == 0)
    throw error(errc::invalid_argument, "an engine needs at least one I/O worker");
  if (options.spin < runtime::duration::zero())
    throw error(errc::invalid_argument, "the I/O workers' spin must not be negative");
  for (std::size_t index = 0; index < options.workers; ++index) {
    auto worker = std::make_shared<io_worker>(engine_, index);
    worker->start(options);
    workers_.push_back(std::move(worker));
  }
  started_.store(true);
}

io_worker& io_pool::next_worker() {
  auto index = next_.fetch_add(1, std::memory_order_relaxed);
  return *workers_[index % workers_.size()];
}

std::shared_ptr<io_worker> io_pool::next_shared_worker() {
  auto index = next_.fetch_add(1, std::memory_order_relaxed);
  return workers_[index % workers_.size()];
}

std::byte* io_worker::borrow_read_buffer(std::size_t bytes) {
  if (read_buffer_lent_ || !on_this_thread())
    return nullptr;
  if (read_buffer_bytes_ < bytes) {
    // Never zero-filled: a read overwrites what it reports.
    read_buffer_.reset(new std::byte[bytes]);
    read_buffer_bytes_ = bytes;
  }
  read_buffer_lent_ = true;
  return read_buffer_.get();
}

std::shared_ptr<io_worker> io_pool::shared_worker(std::size_t index, const char* what) {
  if (index >= workers_.size())
    throw error(errc::invalid_argument, std::string{what} + " " + std::to_string(index) +
                                          ": the engine has " + std::to_string(workers_.size()) +
                                          " I/O worker(s), numbered from 0");
  return workers_[index];
}

io_worker* io_pool::current() const noexcept {
  for (auto& each : workers_)
    if (each->on_this_thread())
      return each.get();
  return nullptr;
}

namespace {

struct pool_extension final : runtime::detail::engine_extension {
  std::unique_ptr<io_pool> pool;
};

const char pool_key = 0;

pool_extension& extension_of(runtime::engine& engine) {
  return static_cast<pool_extension&>(runtime::detail::extension(
    engine, &pool_key, [] { return std::unique_ptr<runtime::detail::engine_extension>{
                              std::make_unique<pool_extension>()}; }));
}

std::mutex pool_creation_mutex;

} // namespace

io_pool& pool_of(runtime::engine& engine) {
  auto& slot = extension_of(engine);
  std::lock_guard guard{pool_creation_mutex};
  if (!slot.pool)
    slot.pool = std::make_unique<io_pool>(engine);
  if (!slot.pool->started()) {
    auto text = runtime::detail::io_configuration(engine);
    slot.pool->start(text.empty() ? io_pool_options{} : io_pool_options::parse(text));
  }
  return *slot.pool;
}

} // namespace actorloop::netio::detail

namespace actorloop::netio {

void start_io_workers(runtime::engine& engine, const io_pool_options& options) {
  auto& slot = detail::extension_of(engine);
  std::lock_guard guard{detail::pool_creation_mutex};
  if (!slot.pool)
    slot.pool = std::make_unique<detail::io_pool>(engine);
  slot.pool->start(options);
}

std::size_t io_worker_count(runtime::engine& engine) {
  return detail::pool_of(engine).size();
}

std::vector<io_worker_stats> io_worker_statistics(runtime::engine& engine) {
  auto& pool = detail::pool_of(engine);
  std::vector<io_worker_stats> result;
  for (std::size_t index = 0; index < pool.size(); ++index)
    result.push_back(pool.worker(index).stats());
  return result;
}

bool on_io_worker(runtime::engine& engine) {
  return detail::pool_of(engine).current() != nullptr;
}

io_pool_options io_pool_options::parse(std::string_view text) {
  io_pool_options result;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(':', start);
    if (end == std::string_view::npos)
      end = text.size();
    auto part = text.substr(start, end - start);
    start = end + 1;
    if (part.empty()) {
      if (end == text.size())
        break;
      continue;
    }
    auto equals = part.find('=');
    if (equals == std::string_view::npos)
      throw error(errc::bad_configuration,
                  "I/O worker options: '" + std::string{part} + "' is not key=value");
    auto key = part.substr(0, equals);
    auto value = part.substr(equals + 1);
    try {
      if (key == "workers") {
        std::size_t parsed = 0;
        auto count = std::stoul(std::string{value}, &parsed);
        if (parsed != value.size() || count == 0 || count > 256)
          throw std::invalid_argument{"range"};
        result.workers = count;
      } else if (key == "cpus") {
        result.cpus = runtime::cpu_set::parse(value);
      } else if (key == "priority") {
        result.priority = runtime::thread_priority::parse(value);
      } else if (key == "spin") {
        // The scheduler options' duration grammar, so both read alike.
        result.spin = runtime::scheduler_options::parse("io:spin=" + std::string{value}).spin;
      } else {
        throw error(errc::bad_configuration, "I/O worker options: unknown key '" +
                                               std::string{key} +
                                               "' (known: workers, cpus, priority, spin)");
      }
    } catch (const error&) {
      throw;
    } catch (const std::exception& failure) {
      throw error(errc::bad_configuration, "I/O worker options: bad value '" +
                                             std::string{value} + "' for '" + std::string{key} +
                                             "': " + failure.what());
    }
    if (end == text.size())
      break;
  }
  return result;
}

} // namespace actorloop::netio
