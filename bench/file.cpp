// Overlapped file I/O benchmarks.
//
// file_read_4k_random: random 4 KiB reads over a file in the page cache at
// queue depth 32, from an applet on a one-thread scheduler (each completion
// starts the next read; with io_uring the scheduler's own ring, reaped by its
// worker). Peers: two plain threads doing pread (what a user would write;
// alternative) and fio --ioengine=io_uring --iodepth=32 (limit).
// file_copy: the copy of samples/12_file_copy (8 buffers of 256 KiB in
// flight from an applet) against a pread/pwrite loop with the same buffer
// size on one plain thread.
#include "bench_support.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/file.hpp>

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t block = 4096;
constexpr std::size_t depth = 32;

/// A scratch file of `bytes` pseudo-random bytes, read once so it sits in
/// the page cache.
void make_file(const std::string& path, std::uint64_t bytes) {
  int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (descriptor < 0)
    bench::fail("cannot create %s", path.c_str());
  std::vector<unsigned char> chunk(1 << 20);
  std::mt19937_64 random{42};
  for (std::uint64_t done = 0; done < bytes; done += chunk.size()) {
    for (auto& each : chunk)
      each = static_cast<unsigned char>(random());
    if (::pwrite(descriptor, chunk.data(), chunk.size(), static_cast<off_t>(done)) !=
        static_cast<ssize_t>(chunk.size()))
      bench::fail("cannot write %s", path.c_str());
  }
  ::fsync(descriptor);
  ::close(descriptor);
  descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  for (std::uint64_t done = 0; done < bytes; done += chunk.size())
    (void)::pread(descriptor, chunk.data(), chunk.size(), static_cast<off_t>(done));
  ::close(descriptor);
}

// -- ours: random reads from an applet ------------------------------------------

struct random_reads {
  runtime::file file;
  std::uint64_t blocks = 0;
  std::size_t total = 0;
  std::size_t started = 0;
  std::size_t completed = 0;
  std::size_t failures = 0;
  std::mt19937_64 random{7};
  std::vector<std::vector<std::byte>> buffers =
    std::vector<std::vector<std::byte>>(depth, std::vector<std::byte>(block));
  std::vector<runtime::file_operation> operations = std::vector<runtime::file_operation>(depth);

  void start(actors::applet_context& context, std::size_t slot) {
    if (started == total)
      return;
    ++started;
    auto offset = (random() % blocks) * block;
    operations[slot] = file.read(offset, buffers[slot]);
    context.add_wait(operations[slot]);
  }
};

double run_ours_random(runtime::engine& engine, const std::string& path, std::uint64_t bytes,
                       std::size_t reads, double& cpu_s) {
  random_reads state;
  state.file = runtime::file::open(engine, path, O_RDONLY);
  state.blocks = bytes / block;
  state.total = reads;
  actors::applet_callbacks callbacks;
  callbacks.name = "random-reader";
  callbacks.init = [&state](actors::applet_context& context) {
    for (std::size_t slot = 0; slot < depth; ++slot)
      state.start(context, slot);
  };
  callbacks.preselect = [](actors::applet_context&) {};
  callbacks.postselect = [&state](actors::applet_context& context,
                                  const runtime::waitable& fired) -> runtime::waitable {
    for (std::size_t slot = 0; slot < depth; ++slot) {
      if (!(state.operations[slot] == fired))
        continue;
      context.remove_wait(fired);
      if (state.operations[slot].bytes() != block)
        ++state.failures;
      ++state.completed;
      state.start(context, slot);
      break;
    }
    if (state.completed == state.total)
      context.kill();
    return {};
  };
  bench::cpu_meter meter;
  meter.start();
  auto begin = bench::bench_clock::now();
  auto handle = actors::spawn_applet(engine, "files", std::move(callbacks));
  if (!handle.wait_for(120s))
    bench::fail("file_read_4k_random: the applet did not finish");
  auto end = bench::bench_clock::now();
  cpu_s = meter.stop();
  if (state.failures != 0 || state.completed != reads)
    bench::fail("file_read_4k_random: %zu of %zu reads, %zu failed", state.completed, reads,
                state.failures);
  return static_cast<double>(reads) / bench::seconds_between(begin, end);
}

// -- peer: two threads doing pread ----------------------------------------------

double run_pread_threads(const std::string& path, std::uint64_t bytes, std::size_t reads,
                         double& cpu_s) {
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::atomic<std::size_t> failures{0};
  bench::cpu_meter meter;
  meter.start();
  auto begin = bench::bench_clock::now();
  std::vector<std::thread> threads;
  for (int index = 0; index < 2; ++index)
    threads.emplace_back([&, index] {
      std::mt19937_64 random{static_cast<unsigned>(11 + index)};
      std::vector<unsigned char> buffer(block);
      for (std::size_t count = 0; count < reads / 2; ++count) {
        auto offset = (random() % (bytes / block)) * block;
        if (::pread(descriptor, buffer.data(), block, static_cast<off_t>(offset)) !=
            static_cast<ssize_t>(block))
          failures.fetch_add(1);
      }
    });
  for (auto& each : threads)
    each.join();
  auto end = bench::bench_clock::now();
  cpu_s = meter.stop();
  ::close(descriptor);
  if (failures != 0)
    bench::fail("file_read_4k_random: pread failed %zu times", failures.load());
  return static_cast<double>(reads / 2 * 2) / bench::seconds_between(begin, end);
}

// -- limit: fio -----------------------------------------------------------------

/// fio's reads/s; `cpu_s` gets the CPU seconds fio (and its shell) used,
/// from getrusage(RUSAGE_CHILDREN) around the run, start-up included.
double run_fio(const std::string& path, std::uint64_t bytes, double seconds, double& cpu_s) {
  auto children_cpu = [] {
    rusage usage{};
    ::getrusage(RUSAGE_CHILDREN, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  };
  const double cpu_before = children_cpu();
  std::string command = "fio --name=randread --ioengine=io_uring --iodepth=32 --rw=randread "
                        "--bs=4k --numjobs=1 --thread --time_based --runtime=" +
                        std::to_string(seconds) + "s --size=" + std::to_string(bytes) +
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
  bench::cpu_meter meter;
  meter.start();
  auto begin = bench::bench_clock::now();
  auto handle = actors::spawn_applet(engine, "files", std::move(callbacks));
  if (!handle.wait_for(300s))
    bench::fail("file_copy: the applet did not finish");
  auto end = bench::bench_clock::now();
  cpu_s = meter.stop();
  if (state.failures != 0 || state.copied != state.size)
    bench::fail("file_copy: copied %llu of %llu bytes, %zu failures",
                static_cast<unsigned long long>(state.copied),
                static_cast<unsigned long long>(state.size), state.failures);
  return static_cast<double>(state.size) / (1 << 20) / bench::seconds_between(begin, end);
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
    const std::uint64_t file_bytes = settings.smoke ? (16u << 20) : (256u << 20);
    const std::size_t reads = settings.smoke ? 20'000 : settings.quick ? 200'000 : 500'000;
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
    runtime::scheduler_options files;
    files.name = "files";
    files.threads = 1;
    options.schedulers.push_back(files);
    runtime::engine engine{options};

    bench::comment("file_read_4k_random: %zu random 4 KiB reads over a %llu MiB file in the "
                   "page cache, queue depth %zu, from an applet on a one-thread scheduler; vs "
                   "two threads doing pread; vs fio --ioengine=io_uring --iodepth=32 (one job, "
                   "time based); reads/s; cpu_s = process CPU seconds of the span",
                   reads, static_cast<unsigned long long>(file_bytes >> 20), depth);
    bench::side ours, threads, ours_plain, fio;
    for (int run = 0; run < settings.repetitions; ++run) {
      double cpu = 0;
      double rate = run_ours_random(engine, source, file_bytes, reads, cpu);
      ours.add(rate, cpu);
      ours_plain.add(rate, cpu);
      rate = run_pread_threads(source, file_bytes, reads, cpu);
      threads.add(rate, cpu);
      rate = run_fio(source, file_bytes, settings.smoke ? 0.5 : 2.0, cpu);
      fio.add(rate, cpu);
    }
    bench::comment("file_read_4k_random: backend %s",
                   engine.get_scheduler("files").stats().file_io.c_str());
    bench::report("file_read_4k_random", "reads/s", bench::better::higher, ours,
                  "2 threads doing pread", bench::peer_kind::alternative, threads);
    bench::report("file_read_4k_random", "reads/s", bench::better::higher, ours_plain,
                  "fio io_uring iodepth=32", bench::peer_kind::limit, fio);

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
      double rate = run_ours_copy(engine, source, dir + "/copy-ours", cpu);
      copy_ours.add(rate, cpu);
      rate = run_pread_pwrite_copy(source, dir + "/copy-loop", cpu);
      copy_loop.add(rate, cpu);
    }
    bench::report("file_copy_256m", "MiB/s",
                  bench::better::higher, copy_ours, "pread/pwrite loop, same buffer size",
                  bench::peer_kind::alternative, copy_loop);
  } catch (const std::exception& failure) {
    bench::fail("file: %s", failure.what());
  }
  return 0;
}
