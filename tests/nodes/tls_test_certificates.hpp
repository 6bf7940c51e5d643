// Throwaway certificates for the nodes TLS tests, made with the openssl
// command-line tool (Debian's openssl package) in a fresh temporary
// directory that the destructor removes: two CAs ("cluster" and "rogue"),
// each with node certificates signed by it. Nothing is committed.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <vector>

extern char** environ;

namespace node_test {

class test_certificates {
public:
  test_certificates() {
    char pattern[] = "/tmp/actorloop-nodes-tls-XXXXXX";
    if (::mkdtemp(pattern) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    make_ca("cluster");
    make_ca("rogue");
  }
  test_certificates(const test_certificates&) = delete;
  test_certificates& operator=(const test_certificates&) = delete;
  ~test_certificates() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  /// Makes `name`.pem and `name`.key, signed by the CA `ca` ("cluster" or
  /// "rogue"); with a `passphrase`, the key is encrypted with it.
  void make_node(const std::string& name, const std::string& ca,
                 const std::string& passphrase = {}) {
    std::vector<std::string> request{"openssl", "req",       "-newkey", "ec",
                                     "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                     "-keyout",  path(name + ".key"),
                                     "-out",     path(name + ".csr"),
                                     "-subj",    "/CN=" + name};
    if (passphrase.empty())
      request.push_back("-noenc");
    else
      request.insert(request.end(), {"-passout", "pass:" + passphrase});
    run(request);
    run({"openssl", "x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + "-ca.pem"),
         "-CAkey", path(ca + "-ca.key"), "-CAcreateserial", "-days", "2", "-sha256", "-out",
         path(name + ".pem")});
  }

  [[nodiscard]] std::string path(const std::string& file) const { return dir_ + "/" + file; }

  /// The TLS options of node `name`, trusting the CA `trusted`.
  [[nodiscard]] std::vector<std::string> options(const std::string& name,
                                                 const std::string& trusted = "cluster") const {
    return {"--actorloop.node.tls.certificate=" + path(name + ".pem"),
            "--actorloop.node.tls.key=" + path(name + ".key"),
            "--actorloop.node.tls.ca-file=" + path(trusted + "-ca.pem")};
  }

private:
  void make_ca(const std::string& name) {
    run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-noenc", "-keyout", path(name + "-ca.key"), "-out", path(name + "-ca.pem"), "-days", "2",
         "-sha256", "-subj", "/CN=actorloop test CA " + name});
  }

  static void run(std::vector<std::string> arguments) {
    std::vector<char*> argv;
    for (auto& each : arguments)
      argv.push_back(each.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // openssl chats on stderr; keep the test output readable.
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t child = -1;
    auto failure = ::posix_spawnp(&child, "openssl", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (failure != 0)
      throw std::runtime_error("cannot run the openssl tool (Debian package openssl; "
                               "scripts/install-deps installs it)");
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("openssl " + arguments[1] + " failed");
  }

  std::string dir_;
};

} // namespace node_test
