// Subscriptions and the notification fan-out: one encoding per PUBLISH,
// one mailbox command per I/O worker, and a truthful count of the
// subscribers that got it queued.

#include "server_session.hpp"

#include <algorithm>

namespace actorloop::netio {

void message_server::state::subscribe(const std::string& channel,
                                      const std::shared_ptr<detail::session>& who) {
  std::lock_guard guard{mutex};
  subscriptions[channel].push_back(who);
}

void message_server::state::unsubscribe(const std::string& channel, detail::session* who) {
  std::lock_guard guard{mutex};
  auto found = subscriptions.find(channel);
  if (found == subscriptions.end())
    return;
  std::erase_if(found->second, [&](const std::weak_ptr<detail::session>& each) {
    auto alive = each.lock();
    return !alive || alive.get() == who;
  });
  if (found->second.empty())
    subscriptions.erase(found);
}

void message_server::state::publish(const std::string& channel, const std::string& payload,
                                    std::uint64_t publisher,
                                    std::function<void(std::size_t)> done) {
  if (!done)
    done = [](std::size_t) {};
  message value{0, notification{channel, payload, publisher}};
  auto encoded = std::make_shared<std::vector<std::byte>>();
  if (wire->encode(value, *encoded)) {
    log("PUBLISH on '" + channel + "': the notification cannot be encoded; delivered to nobody");
    done(0);
    return;
  }
  // A handful of workers: a linear search beats hashing each subscriber's
  // worker.
  std::vector<std::pair<detail::io_worker*, std::vector<std::shared_ptr<detail::session>>>>
    by_worker;
  {
    std::lock_guard guard{mutex};
    auto found = subscriptions.find(channel);
    if (found != subscriptions.end())
      for (auto& each : found->second)
        if (auto alive = each.lock()) {
          auto* worker = &alive->worker();
          auto group = std::find_if(by_worker.begin(), by_worker.end(),
                                    [&](const auto& entry) { return entry.first == worker; });
          if (group == by_worker.end()) {
            group = by_worker.emplace(by_worker.end(), worker,
                                      std::vector<std::shared_ptr<detail::session>>{});
          }
          group->second.push_back(std::move(alive));
        }
  }
  if (by_worker.empty()) {
    done(0);
    return;
  }
  std::shared_ptr<const std::vector<std::byte>> shared = std::move(encoded);
  auto remaining = std::make_shared<std::atomic<std::size_t>>(by_worker.size());
  auto queued = std::make_shared<std::atomic<std::size_t>>(0);
  auto finished = std::make_shared<std::function<void(std::size_t)>>(std::move(done));
  for (auto& [worker, targets] : by_worker) {
    auto deliver = [targets = std::move(targets), shared, remaining, queued, finished] {
      std::size_t here = 0;
      for (auto& each : targets)
        if (each->deliver(shared))
          ++here;
      if (here != 0)
        (*targets.front()).server().delivered.fetch_add(here, std::memory_order_relaxed);
      queued->fetch_add(here);
      if (remaining->fetch_sub(1) == 1)
        (*finished)(queued->load());
    };
    // Moved, not copied: the copy cost an atomic increment and decrement
    // per subscriber.
    if (!worker->run_or_post(std::move(deliver)) && remaining->fetch_sub(1) == 1)
      (*finished)(queued->load());
  }
}

std::shared_ptr<detail::session> message_server::state::find_session(std::uint64_t id) {
  std::lock_guard guard{mutex};
  for (auto& each : sessions)
    if (each->id() == id)
      return each;
  return nullptr;
}

} // namespace actorloop::netio
