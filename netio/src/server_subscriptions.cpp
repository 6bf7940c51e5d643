// Subscriptions and the notification fan-out: one encoding per PUBLISH,
// one mailbox command per I/O worker, and a truthful count of the
// subscribers that got it queued.

#include "server_session.hpp"

#include <algorithm>

namespace actorloop::netio {

void message_server::state::channel_subscribers::remove_at(std::size_t index) {
  if (index + 1 != members.size()) {
    members[index] = std::move(members.back());
    position[members[index].first] = index;
  }
  members.pop_back();
}

void message_server::state::subscribe(const std::string& channel,
                                      const std::shared_ptr<detail::session>& who) {
  std::lock_guard guard{mutex};
  auto& list = subscriptions[channel];
  auto [at, added] = list.position.try_emplace(who.get(), list.members.size());
  if (added)
    list.members.emplace_back(who.get(), who);
  else // a session at the address of one that is gone
    list.members[at->second].second = who;
}

void message_server::state::unsubscribe(const std::string& channel, detail::session* who) {
  std::lock_guard guard{mutex};
  auto found = subscriptions.find(channel);
  if (found == subscriptions.end())
    return;
  auto& list = found->second;
  auto at = list.position.find(who);
  if (at == list.position.end())
    return;
  auto index = at->second;
  list.position.erase(at);
  list.remove_at(index);
  if (list.members.empty())
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
    if (found != subscriptions.end()) {
      auto& list = found->second;
      for (std::size_t index = 0; index < list.members.size();) {
        auto alive = list.members[index].second.lock();
        if (!alive) {
          // A session unsubscribes when it closes, so this is one that
          // subscribed while closing: drop the entry here.
          list.position.erase(list.members[index].first);
          list.remove_at(index);
          continue;
        }
        ++index;
        auto* worker = &alive->worker();
        auto group = std::find_if(by_worker.begin(), by_worker.end(),
                                  [&](const auto& entry) { return entry.first == worker; });
        if (group == by_worker.end()) {
          group = by_worker.emplace(by_worker.end(), worker,
                                    std::vector<std::shared_ptr<detail::session>>{});
        }
        group->second.push_back(std::move(alive));
      }
      if (list.members.empty())
        subscriptions.erase(found);
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
      // Subscribers' sessions and channels are cold when a PUBLISH reaches
      // many: ask for the session eight ahead and its channel four ahead.
      const std::size_t count = targets.size();
      for (std::size_t index = 0; index < count; ++index) {
        if (index + 8 < count)
          __builtin_prefetch(targets[index + 8].get());
        if (index + 4 < count)
          targets[index + 4]->prefetch_channel();
        if (targets[index]->deliver(shared))
          ++here;
      }
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
  auto found = sessions.find(id);
  return found == sessions.end() ? nullptr : found->second;
}

} // namespace actorloop::netio
