// Per-engine file I/O: backend choice and detection, the thread pool, and
// routing each operation to the ring of the scheduler that started it.

#include "file_service.hpp"

#include "file_ring.hpp"
#include "file_threads.hpp"
#include "scheduler_group.hpp"
#include "thread_context.hpp"

#include <actorloop/runtime/detail/access.hpp>
#include <actorloop/runtime/detail/group_access.hpp>

#include <liburing.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace actorloop::runtime::detail {

namespace {

/// I/O threads of the fallback pool: enough to overlap a few page-cache
/// misses, few enough to stay "small".
constexpr std::size_t pool_threads = 4;

std::string probe_uring() {
  // A small probe ring: the scheduler rings are created on first use.
  io_uring ring{};
  io_uring_params parameters{};
  if (int failed = io_uring_queue_init_params(4, &ring, &parameters); failed < 0) {
    std::string reason = std::string{"io_uring_setup failed: "} + std::strerror(-failed);
    if (-failed == ENOSYS)
      reason += " (the kernel has no io_uring)";
    if (-failed == EPERM || -failed == EACCES) {
      std::ifstream disabled{"/proc/sys/kernel/io_uring_disabled"};
      int value = 0;
      if (disabled >> value && value != 0)
        reason += " (kernel.io_uring_disabled = " + std::to_string(value) + ")";
      else
        reason += " (refused, e.g. by a seccomp filter)";
    }
    return reason;
  }
  bool complete = (parameters.features & IORING_FEAT_EXT_ARG) &&
                  (parameters.features & IORING_FEAT_NODROP);
  io_uring_queue_exit(&ring);
  if (!complete)
    return "the kernel's io_uring lacks IORING_FEAT_EXT_ARG or IORING_FEAT_NODROP (Linux < 5.11)";
  return {};
}

class file_extension final : public engine_extension {
public:
  ~file_extension() override {
    if (service)
      service->shutdown();
  }
  std::once_flag once;
  std::shared_ptr<file_service> service;
};

std::unique_ptr<engine_extension> make_extension() {
  return std::make_unique<file_extension>();
}

const int extension_key = 0;

} // namespace

file_io_mode parse_file_io(const std::string& text) {
  if (text.empty() || text == "auto")
    return file_io_mode::automatic;
  if (text == "uring")
    return file_io_mode::uring;
  if (text == "threads")
    return file_io_mode::threads;
  throw error(errc::bad_configuration,
              "actorloop.file-io: '" + text + "' is none of auto, uring, threads");
}

bool uring_available(std::string& reason) {
  static const std::string probed = probe_uring();
  reason = probed;
  return probed.empty();
}

std::shared_ptr<file_service> file_service::of(engine& owner) {
  auto& slot = static_cast<file_extension&>(extension(owner, &extension_key, make_extension));
  std::call_once(slot.once, [&] {
    auto mode = parse_file_io(file_io_configuration(owner));
    slot.service = std::make_shared<file_service>(owner, mode);
  });
  return slot.service;
}

file_service::file_service(engine& owner, file_io_mode mode)
  : home_(&owner), owner_(&owner), default_(owner.get_scheduler("default")) {
  std::string reason;
  bool available = mode != file_io_mode::threads && uring_available(reason);
  if (mode == file_io_mode::uring && !available)
    throw error(errc::system_failure,
                "--actorloop.file-io=uring, but io_uring cannot be used: " + reason);
  use_uring_ = available;
}

file_service::~file_service() {
  shutdown();
}

void file_service::shutdown() noexcept {
  std::shared_ptr<file_threads> threads;
  shut_.store(true, std::memory_order_release);
  {
    std::lock_guard guard{mutex_};
    owner_ = nullptr;
    default_ = scheduler{};
    threads = threads_;
  }
  if (threads)
    threads->stop();
}

std::shared_ptr<file_backend> file_service::threads_locked(scheduler_group* group) {
  if (!threads_)
    threads_ = std::make_shared<file_threads>(pool_threads);
  auto* reported = group ? group : &access::group(default_);
  reported->file_slot().note_backend("threads");
  return threads_;
}

std::vector<std::shared_ptr<file_ring>> file_service::rings() {
  std::vector<std::shared_ptr<file_ring>> result;
  if (!use_uring_)
    return result;
  std::lock_guard guard{mutex_};
  if (!owner_)
    return result;
  for (auto& each : owner_->schedulers()) {
    auto& group = access::group(each);
    std::string failure; // an I/O scheduler has no ring: it uses the default one's
    if (auto ring = group.file_slot().ring(group, failure))
      result.push_back(std::move(ring));
  }
  return result;
}

std::shared_ptr<file_backend> file_service::backend_for_caller() {
  auto* own = current_worker_group();
  // The hot path: a worker of this engine whose scheduler's ring exists (it
  // was made, and the backend noted, by an earlier call on the slow path).
  if (own && use_uring_ && !shut_.load(std::memory_order_acquire) && &owner_of(*own) == home_)
    if (auto* ring = own->file_slot().get())
      return ring->shared_from_this();
  std::lock_guard guard{mutex_};
  if (!owner_)
    return nullptr;
  // A worker of another engine counts as a plain thread here.
  if (own && &owner_of(*own) != owner_)
    own = nullptr;
  if (!use_uring_)
    return threads_locked(own);
  std::string failure;
  if (own) {
    if (auto ring = own->file_slot().ring(*own, failure)) {
      own->file_slot().note_backend("uring");
      return ring;
    }
    // An I/O scheduler (or a stopped one) uses the default scheduler's ring.
  }
  auto& fallback = access::group(default_);
  if (auto ring = fallback.file_slot().ring(fallback, failure)) {
    fallback.file_slot().note_backend("uring");
    if (own)
      own->file_slot().note_backend("uring");
    return ring;
  }
  // The kernel refused a ring (e.g. out of locked memory): the pool keeps
  // the same semantics.
  return threads_locked(own);
}

} // namespace actorloop::runtime::detail
