// Sample 12: copying a file with overlapped file I/O (Open Files' test_file).
//
// N buffers are in flight at once; each buffer's completed read starts its
// write and each completed write starts the buffer's next read, so reads and
// writes overlap, chained through completions. The copy runs twice: once
// from a plain thread that multiplexes the buffers on one wait set (each
// member's cookie names its buffer), once from an applet that registers its
// operations and handles their completions in postselect. Both copies are
// checked byte for byte against the source, and the throughput printed.
// With --progress a progress bar is drawn while copying (only when standard
// output is a terminal). With --register both files are registered with the
// io_uring rings (file::register_with_rings: fixed files), and the sample
// checks that every read and write took the fixed-file path (with the
// thread pool nothing is registered and it says so).
//
// Usage: actorloop-sample-12-file-copy [--size-mb N] [--buffers N] [--buffer-kb N]
//          [--source PATH] [--progress] [--register]
//          [--actorloop.file-io=auto|uring|threads]
// Without --source a file of --size-mb MiB of pseudo-random bytes is made in
// a scratch directory (removed at the end). The applet runs on the scheduler
// "files" (one thread unless given with --actorloop.schedulers).

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/file.hpp>
#include <actorloop/runtime/wait_set.hpp>

#include <sample_support.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

using sample::say;

namespace {

constexpr const char* scheduler_name = "files";

/// Draws "[#####.....]  42%  812.3 MiB/s" in place, at most 10 times a second.
class progress_bar {
public:
  progress_bar(bool enabled, std::uint64_t total, std::string label)
    : enabled_(enabled), total_(total), label_(std::move(label)),
      started_(std::chrono::steady_clock::now()) {}

  void update(std::uint64_t done, bool final = false) {
    if (!enabled_)
      return;
    auto now = std::chrono::steady_clock::now();
    if (!final && now - last_ < 100ms)
      return;
    last_ = now;
    constexpr int width = 40;
    double fraction = total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
    int filled = static_cast<int>(fraction * width);
    double seconds = std::chrono::duration<double>(now - started_).count();
    double rate = seconds > 0 ? static_cast<double>(done) / (1 << 20) / seconds : 0.0;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(width - filled), '.');
    std::printf("\r%-8s [%s] %3d%%  %8.1f MiB/s%s", label_.c_str(), bar.c_str(),
                static_cast<int>(fraction * 100), rate, final ? "\n" : "");
    std::fflush(stdout);
  }

private:
  bool enabled_;
  std::uint64_t total_;
  std::string label_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_{};
};

/// The copy's state machine, shared by both drivers: N buffers, each taking
/// the next block of the file, reading it and writing it (short reads and
/// short writes continue where they stopped).
class copier {
public:
  copier(runtime::file from, runtime::file to, std::size_t buffers, std::size_t buffer_size,
         progress_bar& progress)
    : from_(std::move(from)), to_(std::move(to)), size_(from_.size()),
      buffer_size_(buffer_size), slots_(buffers), progress_(progress) {
    for (auto& each : slots_)
      each.data.resize(buffer_size);
  }

  /// Starts every buffer; calls `started(op, index)` for each operation begun.
  void start(const std::function<void(runtime::file_operation&, std::size_t)>& started) {
    for (std::size_t index = 0; index < slots_.size(); ++index)
      if (take_block(index))
        started(slots_[index].op, index);
  }

  /// Buffer `index`'s operation completed: starts its next one (then calls
  /// `started`) or retires the buffer.
  void completed(std::size_t index,
                 const std::function<void(runtime::file_operation&, std::size_t)>& started) {
    auto& each = slots_[index];
    auto result = each.op.result();
    ++completions_;
    if (result.error) {
      failure_ = std::string{each.writing ? "write" : "read"} + " at " +
                 std::to_string(each.position) + ": " + result.error.message();
      each.op = {};
      return; // this buffer stops; the others finish what they started
    }
    if (!each.writing) {
      if (result.bytes == 0) { // end of file (the file shrank meanwhile)
        each.op = {};
        return;
      }
      each.writing = true;
      each.pending = result.bytes;
      each.written = 0;
      each.op = to_.write(each.position, std::span{each.data}.first(each.pending));
      started(each.op, index);
      return;
    }
    each.written += result.bytes;
    copied_ += result.bytes;
    progress_.update(copied_);
    if (each.written < each.pending && result.bytes > 0) { // short write: the rest
      each.op = to_.write(each.position + each.written,
                          std::span{each.data}.subspan(each.written, each.pending - each.written));
      started(each.op, index);
      return;
    }
    if (result.bytes == 0 && each.written < each.pending) {
      failure_ = "write at " + std::to_string(each.position) + " wrote nothing";
      each.op = {};
      return;
    }
    each.position += each.pending;
    if (each.position < each.block_end) { // short read: read the rest of the block
      read(index);
      started(each.op, index);
    } else if (take_block(index)) {
      started(each.op, index);
    } else {
      each.op = {};
    }
  }

  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] std::uint64_t copied() const noexcept { return copied_; }
  [[nodiscard]] std::size_t completions() const noexcept { return completions_; }
  [[nodiscard]] const std::string& failure() const noexcept { return failure_; }

private:
  struct slot {
    std::vector<std::byte> data;
    runtime::file_operation op;
    std::uint64_t position = 0;
    std::uint64_t block_end = 0;
    std::size_t pending = 0;
    std::size_t written = 0;
    bool writing = false;
  };

  bool take_block(std::size_t index) {
    if (next_block_ >= size_ || !failure_.empty())
      return false;
    auto& each = slots_[index];
    each.position = next_block_;
    each.block_end = std::min<std::uint64_t>(size_, next_block_ + buffer_size_);
    next_block_ = each.block_end;
    read(index);
    return true;
  }

  void read(std::size_t index) {
    auto& each = slots_[index];
    each.writing = false;
    each.op = from_.read(each.position,
                         std::span{each.data}.first(static_cast<std::size_t>(each.block_end - each.position)));
  }

  runtime::file from_;
  runtime::file to_;
  std::uint64_t size_;
  std::size_t buffer_size_;
  std::vector<slot> slots_;
  progress_bar& progress_;
  std::uint64_t next_block_ = 0;
  std::uint64_t copied_ = 0;
  std::size_t completions_ = 0;
  std::string failure_;
};

/// Driver 1: a plain thread, one wait set, cookies naming the buffers.
void copy_on_a_plain_thread(copier& copy) {
  runtime::wait_set set;
  std::size_t active = 0;
  auto started = [&](runtime::file_operation& op, std::size_t index) {
    set.add(op, index);
    ++active;
  };
  copy.start(started);
  while (active > 0) {
    auto fired = set.wait_for(60s);
    if (fired.status != runtime::wait_status::fired)
      throw std::runtime_error("the plain thread's copy stalled");
    // Completed operations stay ready: take each out before its successor.
    set.remove(fired.fired);
    --active;
    copy.completed(fired.cookie, started);
  }
}

/// Driver 2: an applet registers its operations and handles them in postselect.
actors::applet_handle copy_in_an_applet(runtime::engine& engine, copier& copy,
                                        std::vector<runtime::file_operation>& by_index) {
  actors::applet_callbacks callbacks;
  callbacks.name = "file-copy";
  auto started_in = [&by_index](actors::applet_context& context) {
    return [&by_index, &context](runtime::file_operation& op, std::size_t index) {
      by_index[index] = op;
      context.add_wait(op);
    };
  };
  callbacks.init = [&copy, started_in](actors::applet_context& context) {
    copy.start(started_in(context));
    if (context.wait_count() == 0)
      context.kill(); // an empty file
  };
  callbacks.preselect = [](actors::applet_context&) {};
  callbacks.postselect = [&copy, &by_index, started_in](actors::applet_context& context,
                                                        const runtime::waitable& fired)
    -> runtime::waitable {
    context.remove_wait(fired);
    for (std::size_t index = 0; index < by_index.size(); ++index) {
      if (by_index[index] == fired) {
        by_index[index] = {};
        copy.completed(index, started_in(context));
        break;
      }
    }
    if (context.wait_count() == 0)
      context.kill();
    return {};
  };
  return actors::spawn_applet(engine, scheduler_name, std::move(callbacks));
}

bool same_contents(const std::string& left, const std::string& right) {
  std::ifstream a{left, std::ios::binary};
  std::ifstream b{right, std::ios::binary};
  std::vector<char> x(1 << 20), y(1 << 20);
  while (a && b) {
    a.read(x.data(), static_cast<std::streamsize>(x.size()));
    b.read(y.data(), static_cast<std::streamsize>(y.size()));
    if (a.gcount() != b.gcount() || !std::equal(x.begin(), x.begin() + a.gcount(), y.begin()))
      return false;
  }
  return a.eof() && b.eof();
}

/// Writes `megabytes` MiB of pseudo-random bytes with the file API.
void make_source(runtime::engine& engine, const std::string& path, long megabytes) {
  auto out = runtime::file::open(engine, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::byte> chunk(1 << 20);
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  for (long index = 0; index < megabytes; ++index) {
    for (auto& each : chunk) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      each = static_cast<std::byte>(state & 0xff);
    }
    auto write = out.write(static_cast<std::uint64_t>(index) << 20, chunk);
    if (!write.wait_for(60s) || write.error() || write.bytes() != chunk.size())
      throw std::runtime_error("cannot write the source file " + path);
  }
}

void usage() {
  say("usage: actorloop-sample-12-file-copy [--size-mb N] [--buffers N] [--buffer-kb N] "
      "[--source PATH] [--progress] [--register] [engine options]\n",
      runtime::engine::options_help());
}

int run(int argc, char** argv) {
  auto size_mb = sample::take_number_option(argc, argv, "--size-mb").value_or(64);
  auto buffers = static_cast<std::size_t>(sample::take_number_option(argc, argv, "--buffers").value_or(8));
  auto buffer_kb = static_cast<std::size_t>(sample::take_number_option(argc, argv, "--buffer-kb").value_or(256));
  auto source_option = sample::take_option(argc, argv, "--source");
  bool progress = sample::take_flag(argc, argv, "--progress");
  bool registered = sample::take_flag(argc, argv, "--register");
  bool on_terminal = ::isatty(STDOUT_FILENO) == 1;
  if (progress && !on_terminal)
    say("--progress: standard output is not a terminal, no progress bar");
  progress = progress && on_terminal;

  runtime::engine engine{argc, argv};
  if (engine.help_printed())
    return 0;
  sample::ensure_loop_scheduler(engine, scheduler_name);

  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string{base && *base ? base : "/tmp"} + "/actorloop-file-copy-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot make a scratch directory " + pattern);
  std::string scratch = pattern;
  struct remove_on_exit {
    std::string path;
    ~remove_on_exit() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } cleanup{scratch};

  std::string source = source_option.value_or(scratch + "/source");
  if (!source_option)
    make_source(engine, source, size_mb);
  sample::checklist checks;

  auto report = [&](const char* who, copier& copy, double seconds, const std::string& target) {
    double mib = static_cast<double>(copy.copied()) / (1 << 20);
    say(who, ": copied ", copy.copied(), " bytes in ", copy.completions(), " completions, ",
        static_cast<int>(seconds * 1000), " ms, ", static_cast<int>(mib / std::max(seconds, 1e-9)),
        " MiB/s");
    checks.expect(copy.failure().empty(), std::string{who} + ": " + copy.failure());
    checks.expect(copy.copied() == copy.size(),
                  std::string{who} + ": copied " + std::to_string(copy.copied()) + " of " +
                    std::to_string(copy.size()) + " bytes");
    checks.expect(same_contents(source, target),
                  std::string{who} + ": the copy differs from the source");
  };

  // --register: both files into every ring's fixed-file table; afterwards
  // every completion must have been a fixed-file operation.
  auto register_files = [&](runtime::file& from, runtime::file& to) {
    if (!registered)
      return;
    auto rings = from.register_with_rings();
    auto also = to.register_with_rings();
    say("registered files: source with ", rings, " ring(s), target with ", also, " ring(s)",
        rings == 0 ? " (the thread pool has nothing to register)" : "");
  };
  auto check_registered = [&](const char* who, runtime::file& from, runtime::file& to,
                              copier& copy) {
    if (!registered || from.registrations() == 0)
      return;
    auto fixed = from.fixed_file_operations() + to.fixed_file_operations();
    say(who, ": ", fixed, " of ", copy.completions(), " operations used the registered files");
    checks.expect(fixed == copy.completions(),
                  std::string{who} + ": only " + std::to_string(fixed) + " of " +
                    std::to_string(copy.completions()) + " operations used the registered files");
  };

  say("copying ", source, " with ", buffers, " buffers of ", buffer_kb, " KiB in flight");
  {
    auto target = scratch + "/copy-thread";
    auto from = runtime::file::open(engine, source, O_RDONLY);
    auto to = runtime::file::open(engine, target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    register_files(from, to);
    progress_bar bar{progress, from.size(), "thread"};
    copier copy{from, to, buffers, buffer_kb * 1024, bar};
    auto begin = std::chrono::steady_clock::now();
    std::thread worker{[&] { copy_on_a_plain_thread(copy); }};
    worker.join();
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    bar.update(copy.copied(), true);
    report("plain thread + wait set", copy, seconds, target);
    check_registered("plain thread + wait set", from, to, copy);
  }
  {
    auto target = scratch + "/copy-applet";
    auto from = runtime::file::open(engine, source, O_RDONLY);
    auto to = runtime::file::open(engine, target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    register_files(from, to);
    progress_bar bar{progress, from.size(), "applet"};
    copier copy{from, to, buffers, buffer_kb * 1024, bar};
    std::vector<runtime::file_operation> by_index(buffers);
    auto begin = std::chrono::steady_clock::now();
    auto handle = copy_in_an_applet(engine, copy, by_index);
    checks.expect(handle.wait_for(120s), "the applet's copy did not finish in time");
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    bar.update(copy.copied(), true);
    checks.expect(handle.exit_reason().is_normal(), "the applet ended with " + handle.exit_reason().message());
    report("applet on \"files\"", copy, seconds, target);
    check_registered("applet on \"files\"", from, to, copy);
  }
  auto stats = engine.get_scheduler(scheduler_name).stats();
  say("file I/O backend: ", stats.file_io, " (scheduler \"", scheduler_name, "\"), ",
      engine.get_scheduler("default").stats().file_io, " (plain threads, via \"default\")");
  return checks.verdict();
}

} // namespace

int main(int argc, char** argv) {
  return sample::guarded_main([&] { return run(argc, argv); }, usage);
}
