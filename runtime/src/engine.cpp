#include <actorloop/runtime/detail/access.hpp>
#include <actorloop/runtime/detail/config_hooks.hpp>
#include <actorloop/runtime/detail/group_access.hpp>
#include <actorloop/runtime/engine.hpp>

#include <algorithm>

#include "engine_config.hpp"
#include "coordinator.hpp"
#include "file_service.hpp"
#include "thread_context.hpp"

#include <caf/actor_system.hpp>
#include <caf/config_option_adder.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <sstream>

namespace actorloop::runtime {

namespace detail {

engine_config::engine_config() {
  opt_group{custom_options_, "actorloop"}
    .add(schedulers, "schedulers",
         "schedulers to create, ';'-separated, e.g. "
         "\"io:threads=1:cpus=0:priority=fifo/10:spin=20us;work:threads=2\"")
    .add(default_threads, "default-threads",
         "workers of the \"default\" scheduler (0: one per CPU)")
    .add(io, "io",
         "netio I/O workers, e.g. \"workers=2:cpus=0-1:priority=nice/-5\"")
    .add(file_io, "file-io", "file I/O backend: auto (io_uring if allowed), uring, threads");
  load<coordinator>();
}

namespace {
std::mutex& config_hooks_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::vector<config_hook>& config_hooks() {
  static std::vector<config_hook> hooks;
  return hooks;
}
} // namespace

void add_config_hook(config_hook hook) {
  std::lock_guard guard{config_hooks_mutex()};
  auto& hooks = config_hooks();
  if (hook && std::find(hooks.begin(), hooks.end(), hook) == hooks.end())
    hooks.push_back(hook);
}

void engine_config::run_config_hooks() {
  std::vector<config_hook> hooks;
  {
    std::lock_guard guard{config_hooks_mutex()};
    hooks = config_hooks();
  }
  for (auto hook : hooks)
    hook(*this, custom_options_);
}

} // namespace detail

struct engine::impl {
  detail::engine_config config;
  std::unique_ptr<caf::actor_system> system;
  detail::coordinator* coordinator = nullptr;
  bool help_printed = false;

  mutable std::mutex mutex;
  std::vector<std::shared_ptr<detail::scheduler_group>> groups; // "default" first
  std::map<const void*, std::unique_ptr<detail::engine_extension>> extensions;
  // The first extensions again, for a look-up without the mutex (the
  // applet registry is looked up once per spawn): slots are written under
  // the mutex before `cached` is raised past them, and never changed after.
  static constexpr std::size_t cache_size = 4;
  const void* cached_keys[cache_size] = {};
  detail::engine_extension* cached_extensions[cache_size] = {};
  std::atomic<std::size_t> cached{0};
};

namespace detail {

namespace {

/// Creates, starts and registers a group; `poller` is null for an ordinary
/// scheduler.
scheduler add_group(engine::impl& state, scheduler_options options,
                    std::shared_ptr<idle_poller> poller) {
  std::lock_guard guard{state.mutex};
  for (auto& each : state.groups)
    if (each->options().name == options.name)
      throw error(errc::scheduler_exists, "scheduler '" + options.name + "' exists already");
  auto group =
    std::make_shared<scheduler_group>(*state.coordinator, std::move(options), std::move(poller));
  group->start();
  state.groups.push_back(group);
  return scheduler{group};
}

} // namespace

} // namespace detail

engine::engine() : engine(engine_options{}) {}

engine::engine(engine_options options) : impl_(std::make_unique<impl>()) {
  impl_->config.owner = this;
  impl_->config.run_config_hooks();
  if (!options.arguments.empty()) {
    std::vector<std::string> storage{"actorloop"};
    storage.insert(storage.end(), options.arguments.begin(), options.arguments.end());
    std::vector<char*> argv;
    for (auto& each : storage)
      argv.push_back(each.data());
    argv.push_back(nullptr);
    if (auto failure = impl_->config.parse(static_cast<int>(storage.size()), argv.data(),
                                           "/nonexistent/caf-application.ini"))
      throw error(errc::bad_configuration,
                  "engine arguments: " + impl_->config.render(failure));
  }
  if (options.default_threads > 0)
    impl_->config.default_threads = options.default_threads;
  start(std::move(options));
}

engine::engine(int argc, char** argv) : impl_(std::make_unique<impl>()) {
  impl_->config.owner = this;
  impl_->config.run_config_hooks();
  if (auto failure = impl_->config.parse(argc, argv))
    throw error(errc::bad_configuration, "command line: " + impl_->config.render(failure));
  impl_->help_printed = impl_->config.cli_helptext_printed;
  start({});
}

void engine::start(engine_options options) {
  // Parse before starting anything, so a typo fails fast.
  auto configured = scheduler_options::parse_list(impl_->config.schedulers);
  (void)detail::parse_file_io(impl_->config.file_io);
  impl_->system = std::make_unique<caf::actor_system>(impl_->config);
  impl_->coordinator = dynamic_cast<detail::coordinator*>(&impl_->system->scheduler());
  if (!impl_->coordinator)
    throw error(errc::system_failure, "engine: CAF did not load actorloop's coordinator");
  impl_->groups.push_back(impl_->coordinator->default_group());
  try {
    for (auto& each : configured)
      create_scheduler(std::move(each));
    for (auto& each : options.schedulers)
      create_scheduler(std::move(each));
  } catch (...) {
    // The destructor will not run for a constructor that throws.
    shutdown();
    throw;
  }
}

engine::~engine() {
  shutdown();
}

void engine::shutdown() noexcept {
  if (!impl_)
    return;
  std::vector<std::shared_ptr<detail::scheduler_group>> groups;
  {
    std::lock_guard guard{impl_->mutex};
    groups = impl_->groups;
  }
  // Newest first, "default" last: applets may wait on applets created earlier.
  for (auto position = groups.rbegin(); position != groups.rend(); ++position) {
    if (*position == impl_->coordinator->default_group())
      (*position)->shutdown_members();
    else
      (*position)->stop();
  }
  impl_->cached.store(0, std::memory_order_relaxed); // nobody looks them up any more
  impl_->extensions.clear();
  impl_->system.reset(); // CAF stops the default group's workers
  impl_.reset();
}

scheduler engine::create_scheduler(scheduler_options options) {
  return detail::add_group(*impl_, std::move(options), nullptr);
}

std::optional<scheduler> engine::find_scheduler(std::string_view name) const {
  std::lock_guard guard{impl_->mutex};
  for (auto& each : impl_->groups)
    if (each->options().name == name)
      return scheduler{each};
  return std::nullopt;
}

scheduler engine::get_scheduler(std::string_view name) const {
  if (auto found = find_scheduler(name))
    return *found;
  throw error(errc::no_such_scheduler, "no scheduler named '" + std::string{name} + "'");
}

std::vector<scheduler> engine::schedulers() const {
  std::lock_guard guard{impl_->mutex};
  std::vector<scheduler> result;
  for (auto& each : impl_->groups)
    result.emplace_back(each);
  return result;
}

void engine::remove_scheduler(std::string_view name) {
  if (name == "default")
    throw error(errc::invalid_argument, "the \"default\" scheduler cannot be removed");
  auto found = get_scheduler(name);
  found.stop();
  std::lock_guard guard{impl_->mutex};
  auto& groups = impl_->groups;
  for (auto position = groups.begin(); position != groups.end(); ++position)
    if ((*position)->options().name == name) {
      impl_->coordinator->retire(*position);
      groups.erase(position);
      break;
    }
}

bool engine::help_printed() const noexcept {
  return impl_->help_printed;
}

std::string engine::options_help() {
  return "  --actorloop.schedulers=SPEC[;SPEC...]  SPEC is "
         "NAME[:threads=N][:cpus=LIST][:priority=P][:spin=DURATION][:throughput=N]\n"
         "        LIST: 0,2-3   P: nice/N, batch/N, idle, fifo/N, rr/N   DURATION: 20us, 1ms\n"
         "  --actorloop.default-threads=N           workers of the \"default\" scheduler\n"
         "  --actorloop.file-io=auto|uring|threads  file I/O backend (auto: io_uring if allowed)\n"
         "  plus CAF's own options (see --help)\n";
}

caf::actor_system& engine::actor_system() {
  return *impl_->system;
}

// -- scheduler handle ---------------------------------------------------------

scheduler::scheduler(std::shared_ptr<detail::scheduler_group> group) noexcept
  : group_(std::move(group)) {}

detail::scheduler_group& scheduler::checked_group() const {
  if (!group_)
    throw error(errc::invalid_argument, "operation on an empty scheduler handle");
  return *group_;
}

const std::string& scheduler::name() const {
  return checked_group().options().name;
}

const scheduler_options& scheduler::options() const {
  return checked_group().options();
}

scheduler_stats scheduler::stats() const {
  return checked_group().stats();
}

std::vector<std::thread::id> scheduler::thread_ids() const {
  return checked_group().thread_ids();
}

std::vector<int> scheduler::native_thread_ids() const {
  return checked_group().native_thread_ids();
}

bool scheduler::runs_this_thread() const {
  return detail::current_worker_group() == group_.get();
}

std::size_t scheduler::applet_count() const {
  return checked_group().member_count();
}

void scheduler::wake() {
  checked_group().wake_members();
}

void scheduler::stop() {
  checked_group().stop();
}

bool scheduler::stopped() const {
  return checked_group().stopped();
}

// -- library-internal access --------------------------------------------------

namespace detail {

std::error_code attach_member(scheduler_group& group, group_member& member) {
  return group.attach(member);
}

void detach_member(scheduler_group& group, group_member& member) noexcept {
  group.detach(member);
}

void schedule_deadline(scheduler_group& group, time_point deadline,
                       std::weak_ptr<deadline_target> target) {
  group.add_deadline(deadline, std::move(target));
}

void count_dispatch(scheduler_group& group) noexcept {
  group.count_dispatch();
}

std::size_t throughput_of(const scheduler_group& group) noexcept {
  return std::max<std::size_t>(1, group.options().throughput);
}

scheduler create_polled_scheduler(engine& owner, scheduler_options options,
                                  std::shared_ptr<idle_poller> poller) {
  if (!poller)
    throw error(errc::invalid_argument,
                "scheduler '" + options.name + "': an I/O scheduler needs an idle poller");
  return add_group(access::internals(owner), std::move(options), std::move(poller));
}

engine& owner_of(scheduler_group& group) noexcept {
  // Every group's coordinator runs in an engine's actor system, configured
  // by that engine's engine_config.
  return *static_cast<const engine_config&>(group.owner().system().config()).owner;
}

std::string io_configuration(engine& owner) {
  return detail::access::internals(owner).config.io;
}

std::string file_io_configuration(engine& owner) {
  return detail::access::internals(owner).config.file_io;
}

engine_extension& extension(engine& owner, const void* key,
                            std::unique_ptr<engine_extension> (*make)()) {
  auto& state = detail::access::internals(owner);
  const auto cached = state.cached.load(std::memory_order_acquire);
  for (std::size_t index = 0; index < cached; ++index)
    if (state.cached_keys[index] == key)
      return *state.cached_extensions[index];
  std::lock_guard guard{state.mutex};
  auto& slot = state.extensions[key];
  if (!slot) {
    slot = make();
    if (auto count = state.cached.load(std::memory_order_relaxed); count < state.cache_size) {
      state.cached_keys[count] = key;
      state.cached_extensions[count] = slot.get();
      state.cached.store(count + 1, std::memory_order_release);
    }
  }
  return *slot;
}

} // namespace detail

} // namespace actorloop::runtime
