#include <actorloop/netio/detail/resolver.hpp>

#include <actorloop/netio/error.hpp>
#include <actorloop/runtime/detail/group_access.hpp>

#include <arpa/inet.h>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace actorloop::netio::detail {

namespace {

/// One thread per engine that runs getaddrinfo, started on first use and
/// joined when the engine goes.
class resolver final : public runtime::detail::engine_extension {
public:
  ~resolver() override {
    {
      std::lock_guard guard{mutex_};
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

  void submit(endpoint where, std::function<void(resolution)> done) {
    {
      std::lock_guard guard{mutex_};
      if (stopping_) {
        resolution failed;
        failed.error = errc::shutting_down;
        failed.detail = "resolving '" + where.host + "': the engine is shutting down";
        done(std::move(failed));
        return;
      }
      queue_.push_back({std::move(where), std::move(done)});
      if (!thread_.joinable())
        thread_ = std::thread{[this] { run(); }};
    }
    wake_.notify_one();
  }

private:
  struct job {
    endpoint where;
    std::function<void(resolution)> done;
  };

  void run() {
    for (;;) {
      job next;
      {
        std::unique_lock guard{mutex_};
        wake_.wait(guard, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty())
          return;
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      resolution outcome;
      outcome.addresses = resolve(next.where, false, outcome.error, outcome.detail);
      next.done(std::move(outcome));
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

const char resolver_key = 0;

} // namespace

bool is_numeric_host(const std::string& host) {
  unsigned char scratch[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), scratch) == 1 ||
         inet_pton(AF_INET6, host.c_str(), scratch) == 1;
}

void resolve_async(runtime::engine& engine, endpoint where, std::function<void(resolution)> done) {
  if (where.kind == endpoint::family::unix_domain || is_numeric_host(where.host)) {
    resolution outcome;
    outcome.addresses = resolve(where, false, outcome.error, outcome.detail);
    done(std::move(outcome));
    return;
  }
  auto& instance = static_cast<resolver&>(runtime::detail::extension(engine, &resolver_key, [] {
    return std::unique_ptr<runtime::detail::engine_extension>{std::make_unique<resolver>()};
  }));
  instance.submit(std::move(where), std::move(done));
}

} // namespace actorloop::netio::detail
