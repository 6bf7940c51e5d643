// Overlapped file I/O benchmarks.
//
// file_read_4k_random: random 4 KiB reads over a file in the page cache at
// queue depth 32 on two threads: two applets, each on its own one-thread
// scheduler (so each reaps its own io_uring ring) with 16 reads in flight;
// each completion starts the next read. Peers on the same two threads: two
// plain threads doing pread (what a user would write; alternative) and fio
// --ioengine=io_uring with two jobs of iodepth 16 (limit).
// file_read_4k_random_fixed: the same with registered buffers and files, vs
// fio --fixedbufs --registerfiles. Every side reads into page-aligned
// buffers (as fio does) and for the same span (fio is time based; ours and
// the pread threads stop starting reads when the span ends).
// file_copy: the copy of samples/12_file_copy (8 buffers of 256 KiB in
// flight from an applet) against a pread/pwrite loop with the same buffer
// size on one plain thread.
#include "bench_support.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/file.hpp>
#include <actorloop/runtime/file_buffers.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t block = 4096;
constexpr std::size_t depth = 32;

/// `count` blocks in one page-aligned allocation. Every side reads into
/// such blocks, as fio does (malloc's blocks straddle two pages).
class aligned_blocks {
public:
  explicit aligned_blocks(std::size_t count)
    : memory_(static_cast<std::byte*>(std::aligned_alloc(block, count * block))) {
    if (!memory_)
      bench::fail("cannot allocate %zu aligned blocks", count);
  }
  [[nodiscard]] std::span<std::byte> operator[](std::size_t index) const noexcept {
    return {memory_.get() + index * block, block};
  }

private:
  struct release {
    void operator()(std::byte* memory) const noexcept { std::free(memory); }
  };
  std::unique_ptr<std::byte, release> memory_;
};

/// A scratch file of `bytes` pseudo-random bytes, read once so it sits in
/// the page cache.
void make_file(const std::string& path, std::uint64_t bytes) {
  int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (descriptor < 0)
    bench::fail("cannot create %s", path.c_str());
  // Eight random bytes per draw: one byte a draw took about 4 s for 256 MiB
  // here, this about 0.9 s.
  constexpr std::size_t chunk_bytes = 1 << 20;
  std::vector<std::uint64_t> chunk(chunk_bytes / sizeof(std::uint64_t));
  std::mt19937_64 random{42};
  for (std::uint64_t done = 0; done < bytes; done += chunk_bytes) {
    for (auto& each : chunk)
      each = random();
    if (::pwrite(descriptor, chunk.data(), chunk_bytes, static_cast<off_t>(done)) !=
        static_cast<ssize_t>(chunk_bytes))
      bench::fail("cannot write %s", path.c_str());
  }
  ::fsync(descriptor);
  ::close(descriptor);
  descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  for (std::uint64_t done = 0; done < bytes; done += chunk_bytes)
    (void)::pread(descriptor, chunk.data(), chunk_bytes, static_cast<off_t>(done));
  ::close(descriptor);
}

// -- ours: random reads from applets --------------------------------------------

constexpr std::size_t readers = 2;                // threads on every side
constexpr std::size_t reader_depth = depth / readers; // reads in flight per reader

/// Spawns one applet per entry of `runs` (scheduler name, callbacks), calls
/// `meanwhile` (if given), waits until every applet has ended and returns
/// the seconds from the first spawn to the last end; `cpu_s` gets the
/// process CPU seconds of that span.
double run_applets(runtime::engine& engine,
                   std::vector<std::pair<std::string, actors::applet_callbacks>> runs,
                   std::chrono::seconds limit, const char* what, double& cpu_s,
                   const std::function<void()>& meanwhile = {}) {
  bench::cpu_meter meter;
  meter.start();
  auto begin = bench::bench_clock::now();
  std::vector<actors::applet_handle> handles;
  for (auto& [scheduler, callbacks] : runs)
    handles.push_back(actors::spawn_applet(engine, scheduler, std::move(callbacks)));
  if (meanwhile)
    meanwhile();
  for (auto& handle : handles)
    if (!handle.wait_for(limit))
      bench::fail("%s: an applet did not finish", what);
  auto end = bench::bench_clock::now();
  cpu_s = meter.stop();
  return bench::seconds_between(begin, end);
}

/// Time-based like fio: every side reads until `stop` is set, `span` after
/// its start, then lets the reads in flight complete.
struct random_reads {
  runtime::file file;
  std::uint64_t blocks = 0;
  const std::atomic<bool>* stop = nullptr;
  std::size_t started = 0;
  std::size_t completed = 0;
  std::size_t failures = 0;
  std::mt19937_64 random;
  aligned_blocks buffers{reader_depth};
  runtime::file_buffers fixed; // registered buffers instead, if set
  std::vector<runtime::file_operation> operations =
    std::vector<runtime::file_operation>(reader_depth);

  explicit random_reads(unsigned seed) : random(seed) {}

  void start(actors::applet_context& context, std::size_t slot) {
    if (stop->load(std::memory_order_relaxed))
      return;
    ++started;
    auto offset = (random() % blocks) * block;
    operations[slot] = fixed ? file.read(offset, fixed[slot]) : file.read(offset, buffers[slot]);
    context.add_wait(operations[slot]);
  }

  [[nodiscard]] actors::applet_callbacks callbacks() {
    actors::applet_callbacks result;
    result.name = "random-reader";
    result.init = [this](actors::applet_context& context) {
      for (std::size_t slot = 0; slot < reader_depth; ++slot)
        start(context, slot);
      if (started == 0)
        context.kill(); // the span ended before the first read (reported as a failure)
    };
    result.preselect = [](actors::applet_context&) {};
    result.postselect = [this](actors::applet_context& context,
                               const runtime::waitable& fired) -> runtime::waitable {
      for (std::size_t slot = 0; slot < reader_depth; ++slot) {
        if (!(operations[slot] == fired))
          continue;
        context.remove_wait(fired);
        if (operations[slot].bytes() != block)
          ++failures;
        ++completed;
        start(context, slot);
        break;
      }
      if (completed == started)
        context.kill(); // stopped, and nothing in flight
      return {};
    };
    return result;
  }
};

double run_ours_random(runtime::engine& engine, const std::string& path, std::uint64_t bytes,
                       std::chrono::milliseconds span, bool registered, double& cpu_s) {
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<random_reads>> states;
  std::vector<std::pair<std::string, actors::applet_callbacks>> runs;
  for (std::size_t index = 0; index < readers; ++index) {
    auto& state = *states.emplace_back(std::make_unique<random_reads>(7 + index));
    state.file = runtime::file::open(engine, path, O_RDONLY);
    state.blocks = bytes / block;
    state.stop = &stop;
    if (registered) {
      state.fixed = runtime::file_buffers::allocate(engine, reader_depth, block);
      if (state.fixed.registrations() == 0)
        bench::fail("file_read_4k_random_fixed: no ring registered the buffers");
      if (state.file.register_with_rings() == 0)
        bench::fail("file_read_4k_random_fixed: no ring registered the file");
    }
    runs.emplace_back("files-" + std::to_string(index), state.callbacks());
  }
  double seconds = run_applets(engine, std::move(runs), 120s, "file_read_4k_random", cpu_s, [&] {
    std::this_thread::sleep_for(span);
    stop.store(true, std::memory_order_relaxed);
  });
  std::size_t completed = 0;
  for (auto& state : states) {
    if (state->failures != 0 || state->completed != state->started || state->completed == 0)
      bench::fail("file_read_4k_random: %zu of %zu reads completed, %zu failed", state->completed,
                  state->started, state->failures);
    completed += state->completed;
    if (registered && state->fixed.fixed_operations() != state->completed)
      bench::fail("file_read_4k_random_fixed: %llu of %zu reads used the fixed buffers",
                  static_cast<unsigned long long>(state->fixed.fixed_operations()),
                  state->completed);
    if (registered && state->file.fixed_file_operations() != state->completed)
      bench::fail("file_read_4k_random_fixed: %llu of %zu reads used the registered file",
                  static_cast<unsigned long long>(state->file.fixed_file_operations()),
                  state->completed);
  }
  return static_cast<double>(completed) / seconds;
}

// -- peer: two threads doing pread ----------------------------------------------

double run_pread_threads(const std::string& path, std::uint64_t bytes,
                         std::chrono::milliseconds span, double& cpu_s) {
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> failures{0};
  std::atomic<std::size_t> completed{0};
  bench::cpu_meter meter;
  meter.start();
  auto begin = bench::bench_clock::now();
  std::vector<std::thread> threads;
  for (std::size_t index = 0; index < readers; ++index)
    threads.emplace_back([&, index] {
      std::mt19937_64 random{static_cast<unsigned>(11 + index)};
      aligned_blocks buffer{1};
      std::size_t count = 0;
      for (; !stop.load(std::memory_order_relaxed); ++count) {
        auto offset = (random() % (bytes / block)) * block;
        if (::pread(descriptor, buffer[0].data(), block, static_cast<off_t>(offset)) !=
            static_cast<ssize_t>(block))
          failures.fetch_add(1);
      }
      completed.fetch_add(count);
    });
  std::this_thread::sleep_for(span);
  stop.store(true, std::memory_order_relaxed);
  for (auto& each : threads)
    each.join();
  auto end = bench::bench_clock::now();
  cpu_s = meter.stop();
  ::close(descriptor);
  if (failures != 0)
    bench::fail("file_read_4k_random: pread failed %zu times", failures.load());
  return static_cast<double>(completed.load()) / bench::seconds_between(begin, end);
}

// -- limit: fio -----------------------------------------------------------------

/// fio's reads/s; `cpu_s` gets the CPU seconds fio (and its shell) used,
/// from getrusage(RUSAGE_CHILDREN) around the run, start-up included.
double run_fio(const std::string& path, std::uint64_t bytes, std::chrono::milliseconds span,
               bool registered, double& cpu_s) {
  auto children_cpu = [] {
    rusage usage{};
    ::getrusage(RUSAGE_CHILDREN, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  };
  const double cpu_before = children_cpu();
  // Two jobs (threads) of iodepth 16: the same threads and total queue
  // depth as ours; --group_reporting sums their rates. Tuned as a floor:
  // --gtod_reduce drops fio's per-I/O clocks, and submitting and reaping 16
  // at a time makes one io_uring_enter per 16 reads (fio's defaults submit
  // each read alone and run at a third of this rate here).
  std::string command = "fio --name=randread --ioengine=io_uring --iodepth=" +
                        std::to_string(reader_depth) + " --numjobs=" + std::to_string(readers) +
                        " --iodepth_batch_submit=" + std::to_string(reader_depth) +
                        " --iodepth_batch_complete_min=" + std::to_string(reader_depth) +
                        " --group_reporting --gtod_reduce=1 --rw=randread --bs=4k --thread"
                        " --time_based " +
                        (registered ? "--fixedbufs --registerfiles " : "") + "--runtime=" +
                        std::to_string(span.count()) + "ms --size=" + std::to_string(bytes) +
                        " --filename=" + path +
                        " --invalidate=0 --output-format=terse --terse-version=3 2>/dev/null";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    bench::fail("cannot run fio");
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
    output += buffer;
  if (::pclose(pipe) != 0)
    bench::fail("fio failed (is Debian's fio installed?): %s", output.c_str());
  cpu_s = children_cpu() - cpu_before;
  // Terse v3: field 8 (1-based) is the read IOPS.
  std::size_t field = 1;
  std::size_t position = 0;
  while (field < 8 && position != std::string::npos) {
    position = output.find(';', position);
    if (position != std::string::npos)
      ++position;
    ++field;
  }
  if (position == std::string::npos)
    bench::fail("cannot parse fio's output: %s", output.c_str());
  return std::strtod(output.c_str() + position, nullptr);
}

// -- copy -------------------------------------------------------------------------

constexpr std::size_t copy_buffer = 256 * 1024;
constexpr std::size_t copy_depth = 8;

struct copy_state {
  runtime::file from;
  runtime::file to;
  std::uint64_t size = 0;
  std::uint64_t next = 0;
  std::uint64_t copied = 0;
  std::size_t failures = 0;
  struct slot {
    std::vector<std::byte> data = std::vector<std::byte>(copy_buffer);
    runtime::file_operation op;
    std::uint64_t offset = 0;
    bool writing = false;
  };
  std::vector<slot> slots = std::vector<slot>(copy_depth);

  void read_next(actors::applet_context& context, slot& each) {
    if (next >= size) {
      each.op = {};
      return;
    }
    each.offset = next;
    auto length = static_cast<std::size_t>(std::min<std::uint64_t>(copy_buffer, size - next));
    next += length;
    each.writing = false;
    each.op = from.read(each.offset, std::span{each.data}.first(length));
    context.add_wait(each.op);
  }
};

double run_ours_copy(runtime::engine& engine, const std::string& source, const std::string& target,
                     double& cpu_s) {
  copy_state state;
  state.from = runtime::file::open(engine, source, O_RDONLY);
  state.to = runtime::file::open(engine, target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  state.size = state.from.size();
  actors::applet_callbacks callbacks;
  callbacks.name = "copier";
  callbacks.init = [&state](actors::applet_context& context) {
    for (auto& each : state.slots)
      state.read_next(context, each);
  };
  callbacks.preselect = [](actors::applet_context&) {};
  callbacks.postselect = [&state](actors::applet_context& context,
                                  const runtime::waitable& fired) -> runtime::waitable {
    context.remove_wait(fired);
    for (auto& each : state.slots) {
      if (!(each.op == fired))
        continue;
      auto result = each.op.result();
      auto requested = each.op.requested();
      if (result.error || result.bytes != requested) {
        // Regular files in the page cache: no short transfers expected.
        ++state.failures;
        each.op = {};
      } else if (!each.writing) {
        each.writing = true;
        each.op = state.to.write(each.offset, std::span{each.data}.first(result.bytes));
        context.add_wait(each.op);
      } else {
        state.copied += result.bytes;
        state.read_next(context, each);
      }
      break;
    }
    if (context.wait_count() == 0)
      context.kill();
    return {};
  };
  std::vector<std::pair<std::string, actors::applet_callbacks>> runs;
  runs.emplace_back("files-0", std::move(callbacks));
  double seconds = run_applets(engine, std::move(runs), 300s, "file_copy", cpu_s);
  if (state.failures != 0 || state.copied != state.size)
    bench::fail("file_copy: copied %llu of %llu bytes, %zu failures",
                static_cast<unsigned long long>(state.copied),
                static_cast<unsigned long long>(state.size), state.failures);
  return static_cast<double>(state.size) / (1 << 20) / seconds;
}

double run_pread_pwrite_copy(const std::string& source, const std::string& target,
                             double& cpu_s) {
  bench::cpu_meter meter;
  meter.start();
  auto begin = bench::bench_clock::now();
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  int out = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::vector<unsigned char> buffer(copy_buffer);
  std::uint64_t copied = 0;
  for (;;) {
    auto got = ::pread(in, buffer.data(), buffer.size(), static_cast<off_t>(copied));
    if (got <= 0)
      break;
    if (::pwrite(out, buffer.data(), static_cast<std::size_t>(got), static_cast<off_t>(copied)) != got)
      bench::fail("file_copy: pwrite failed");
    copied += static_cast<std::uint64_t>(got);
  }
  ::close(in);
  ::close(out);
  auto end = bench::bench_clock::now();
  cpu_s = meter.stop();
  return static_cast<double>(copied) / (1 << 20) / bench::seconds_between(begin, end);
}

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  try {
    const std::uint64_t file_bytes =
      settings.smoke ? (16u << 20) : settings.quick ? (64u << 20) : (256u << 20);
    // Every side of file_read_4k_random reads for the same span.
    const std::chrono::milliseconds span = settings.smoke ? 200ms : settings.quick ? 250ms : 2000ms;
    const char* base = std::getenv("TMPDIR");
    std::string dir = std::string{base && *base ? base : "/tmp"} + "/actorloop-bench-file-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr)
      bench::fail("cannot make a scratch directory");
    struct cleanup {
      std::string path;
      ~cleanup() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
      }
    } remove{dir};
    auto source = dir + "/source";
    make_file(source, file_bytes);

    runtime::engine_options options;
    options.default_threads = 1;
    for (std::size_t index = 0; index < readers; ++index) {
      // One thread each, so each scheduler's worker reaps its own ring; an
      // applet may handle up to 16 completions per turn (one message each
      // batch), as fio reaps 16 per call.
      runtime::scheduler_options files;
      files.name = "files-" + std::to_string(index);
      files.threads = 1;
      files.throughput = reader_depth;
      options.schedulers.push_back(files);
    }
    runtime::engine engine{options};

    bench::comment("file_read_4k_random: random 4 KiB reads for %lld ms over a %llu MiB file in "
                   "the page cache into page-aligned buffers, queue depth %zu on %zu threads: %zu "
                   "applets, each on its own one-thread scheduler with %zu reads in flight; vs "
                   "%zu threads doing pread; vs fio --ioengine=io_uring, %zu jobs of iodepth %zu "
                   "submitted and reaped in batches of %zu; every side time based; reads/s; "
                   "cpu_s = process CPU seconds of the span",
                   static_cast<long long>(span.count()),
                   static_cast<unsigned long long>(file_bytes >> 20), depth, readers, readers,
                   reader_depth, readers, readers, reader_depth, reader_depth);
    bench::side ours, threads, ours_plain, fio, ours_fixed, fio_fixed;
    for (int run = 0; run < settings.repetitions; ++run) {
      double cpu = 0;
      bench::in_turn(run, {[&] {
                             double rate =
                               run_ours_random(engine, source, file_bytes, span, false, cpu);
                             ours.add(rate, cpu);
                             ours_plain.add(rate, cpu);
                           },
                           [&] {
                             double rate = run_pread_threads(source, file_bytes, span, cpu);
                             threads.add(rate, cpu);
                           },
                           [&] {
                             double rate = run_fio(source, file_bytes, span, false, cpu);
                             fio.add(rate, cpu);
                           },
                           [&] {
                             double rate =
                               run_ours_random(engine, source, file_bytes, span, true, cpu);
                             ours_fixed.add(rate, cpu);
                           },
                           [&] {
                             double rate = run_fio(source, file_bytes, span, true, cpu);
                             fio_fixed.add(rate, cpu);
                           }});
    }
    bench::comment("file_read_4k_random: backend %s",
                   engine.get_scheduler("files-0").stats().file_io.c_str());
    bench::report("file_read_4k_random", "reads/s", bench::better::higher, ours,
                  "2 threads doing pread", bench::peer_kind::alternative, threads);
    bench::report("file_read_4k_random", "reads/s", bench::better::higher, ours_plain,
                  "fio io_uring 2 jobs x iodepth 16, batches of 16", bench::peer_kind::limit, fio);
    bench::comment("file_read_4k_random_fixed: the same with registered buffers "
                   "(runtime::file_buffers, io_uring fixed buffers) and registered files "
                   "(file::register_with_rings, IOSQE_FIXED_FILE) vs fio with --fixedbufs "
                   "--registerfiles");
    bench::report("file_read_4k_random_fixed", "reads/s", bench::better::higher, ours_fixed,
                  "fio io_uring 2 jobs x iodepth 16, batches of 16, --fixedbufs --registerfiles",
                  bench::peer_kind::limit,
                  fio_fixed);

    bench::comment("file_copy: copy a %llu MiB file in the page cache with %zu buffers of "
                   "%zu KiB in flight from an applet (samples/12_file_copy's scheme), vs a "
                   "pread/pwrite loop with the same buffer size on one thread; MiB/s",
                   static_cast<unsigned long long>(file_bytes >> 20), copy_depth,
                   copy_buffer / 1024);
    bench::side copy_ours, copy_loop;
    for (int run = 0; run < settings.repetitions; ++run) {
      // io_uring's write workers are threads that come and go within the
      // span: cpu_meter counts them through getrusage, which keeps the time
      // of threads that ended.
      double cpu = 0;
      bench::in_turn(run, {[&] {
                             double rate = run_ours_copy(engine, source, dir + "/copy-ours", cpu);
                             copy_ours.add(rate, cpu);
                           },
                           [&] {
                             double rate =
                               run_pread_pwrite_copy(source, dir + "/copy-loop", cpu);
                             copy_loop.add(rate, cpu);
                           }});
    }
    bench::report("file_copy_256m", "MiB/s",
                  bench::better::higher, copy_ours, "pread/pwrite loop, same buffer size",
                  bench::peer_kind::alternative, copy_loop);
  } catch (const std::exception& failure) {
    bench::fail("file: %s", failure.what());
  }
  return 0;
}
