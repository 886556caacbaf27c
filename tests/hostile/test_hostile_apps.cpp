// Hostile input against the two apps: every case ends with one clear line and exit code 2 (or
// the documented success), never a crash, a hang, a silent wrong answer or a destroyed file.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANALOG_TEST_UNDER_ASAN 1
#endif
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.h"

namespace analog {
namespace {

/// What a run did: its exit code (-signal when killed, -1000 when it hung), stderr and stdout.
struct Outcome {
  int code = 0;
  std::string err, out;
  /// Lines of stderr.
  int err_lines() const {
    int n = 0;
    for (char c : err) n += c == '\n' ? 1 : 0;
    return n;
  }
};

std::string tmp(const std::string& name) { return test::fresh_temp_path("hostile_" + name); }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// Runs `args` with stdout to `stdout_path`, killing it after `timeout_s` (a hang); with
/// `address_space` > 0, the process may map at most that many bytes (RLIMIT_AS).
Outcome run(std::vector<std::string> args, const std::string& stdout_path = "", int timeout_s = 60,
            rlim_t address_space = 0) {
  static int counter = 0;
  // (ctest runs tests in parallel processes: the pid keeps their files apart)
  const std::string id = std::to_string(getpid()) + "_" + std::to_string(counter);
  const std::string err = tmp("stderr_" + id);
  const std::string out = stdout_path.empty() ? tmp("stdout_" + id) : stdout_path;
  ++counter;
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::freopen(err.c_str(), "w", stderr);
    std::freopen(out.c_str(), "w", stdout);
    if (address_space > 0) {
      const rlimit limit{address_space, address_space};
      setrlimit(RLIMIT_AS, &limit);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return {-1000, test::file_contents(err), ""};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return {code, test::file_contents(err),
          stdout_path == "/dev/full" ? "" : test::file_contents(out)};
}

std::vector<std::string> train(std::vector<std::string> extra) {
  std::vector<std::string> args = {
      ANALOG_TRAIN_BIN, "--data", ANALOG_DATA_DIR, "--epochs", "1", "--train-samples", "300",
      "--test-samples", "100",    "--hidden",      "8"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> sweep(const std::string& out, std::vector<std::string> extra) {
  std::vector<std::string> args = {ANALOG_SWEEP_BIN,
                                   "--data",
                                   ANALOG_DATA_DIR,
                                   "--epochs",
                                   "1",
                                   "--train-samples",
                                   "300",
                                   "--test-samples",
                                   "100",
                                   "--hidden",
                                   "8",
                                   "--grid",
                                   "update.desired_bl=1,3",
                                   "--jobs",
                                   "1",
                                   "-o",
                                   out};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// The outcome every refused input must have: exit 2 and one `error:` line that names `what`.
void expect_refused(const Outcome& r, const std::string& what, const std::string& label) {
  EXPECT_EQ(r.code, 2) << label << ": " << r.err;
  EXPECT_EQ(r.err_lines(), 1) << label << ": " << r.err;
  EXPECT_THAT(r.err, HasSubstr("error: ")) << label;
  EXPECT_THAT(r.err, HasSubstr(what)) << label << ": " << r.err;
  EXPECT_LT(r.err.size(), 400u) << label << ": " << r.err.substr(0, 400);
}

/// `depth` nested arrays around a number.
std::string deep_json(int depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

// Numbers on the command line: strict decimal whole numbers within bounds, finite reals.
TEST(HostileInput, CommandLineNumbersAreStrict) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--hidden", "0"}, "--hidden"},
      {{"--hidden", std::string(400, '9')}, "--hidden"},
      {{"--seed", "010"}, "--seed"},
      {{"--seed", "0x10"}, "--seed"},
      {{"--seed", "18446744073709551616"}, "--seed"},
      {{"--seed", "-1"}, "--seed"},
      {{"--seed", "+3"}, "--seed"},
      {{"--epochs", "1.5"}, "--epochs"},
      {{"--batch", "0"}, "--batch"},
      {{"--threads", "100000"}, "--threads"},
      {{"--threads", "0"}, "--threads"},
      {{"--lr", "inf"}, "--lr"},
      {{"--lr", "nan"}, "--lr"},
      {{"--lr", "0"}, "--lr"},
      {{"--lr", "1e400"}, "--lr"},
      {{"--lr", "0x1p-3"}, "--lr"},
      {{"--train-samples", "-5"}, "--train-samples"},
  };
  for (const auto& [extra, what] : cases) {
    expect_refused(run(train(extra)), what, extra[0] + " " + extra[1].substr(0, 30));
  }
}

// Deployment options: strict times, an inference config, a saved network never overwritten.
TEST(HostileInput, DeploymentOptionsAreChecked) {
  const std::vector<std::string> inference = {"--set", "type=inference"};
  const auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), inference.begin(), inference.end());
    return train(extra);
  };
  expect_refused(run(with({"--eval-times", "-1"})), "expected a finite number >= 0", "negative");
  expect_refused(run(with({"--eval-times", "1,,2"})), "got '' in '1,,2'", "empty item");
  expect_refused(run(with({"--eval-times", "inf"})), "expected a finite number", "inf");
  expect_refused(run(train({"--eval-times", "1"})),
                 "--eval-times: expected an analog run with config type inference", "pulsed");
  expect_refused(run(with({"--eval-repeats", "3"})), "--eval-repeats requires --eval-times",
                 "repeats alone");
  expect_refused(run(sweep(tmp("repeats.csv"), {"--set", "type=inference", "--eval-repeats", "3"})),
                 "--eval-repeats requires --eval-times", "sweep repeats alone");
  expect_refused(run(train({"--init-from", tmp("missing.pt")})), "--init-from", "missing");
  const std::string saved = tmp("saved.pt");
  const Outcome digital = run(train({"--mode", "digital", "--save", saved}));
  ASSERT_EQ(digital.code, 0) << digital.err;
  const std::string bytes = test::file_contents(saved);
  ASSERT_FALSE(bytes.empty());
  expect_refused(run(train({"--mode", "digital", "--save", saved})), "exists", "overwrite");
  EXPECT_EQ(test::file_contents(saved), bytes);
  expect_refused(run(train({"--compare", "--save", tmp("other.pt")})),
                 "--save: expected one run, not --compare", "compare");
  // The saved network deployed: 0 epochs, two times, two programmings each.
  std::vector<std::string> args =
      with({"--init-from", saved, "--eval-times", "0,3600", "--eval-repeats", "2", "--json"});
  *(std::find(args.begin(), args.end(), "--epochs") + 1) = "0";
  const Outcome deployed = run(args);
  ASSERT_EQ(deployed.code, 0) << deployed.err;
  EXPECT_THAT(deployed.out, HasSubstr("\"t_inference\": 3600.0"));
  size_t rows = 0;
  for (size_t at = 0; (at = deployed.out.find("\"test_acc_mean\"", at)) != std::string::npos; ++at)
    ++rows;
  EXPECT_EQ(rows, 2u);
}

// The config line names each changed value as a person writes it, not in 17 digits.
TEST(HostileInput, TheConfigLineShowsValuesAsWritten) {
  const Outcome r = run(train({"--set", "forward.out_noise=0.1", "--set", "device.dw_min=3e-4",
                               "--set", "update.desired_bl=3"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("config: forward.out_noise=0.1 "));
  EXPECT_THAT(r.out, HasSubstr("update.desired_bl=3"));
  EXPECT_THAT(r.out, Not(HasSubstr("0000000")));
}

TEST(HostileInput, UnknownOptionsAndChoicesExitWithTwo) {
  expect_refused(run(train({"--frobnicate"})), "frobnicate", "unknown option");
  expect_refused(run(train({"--mode", "quantum"})), "quantum", "--mode");
  expect_refused(run(train({"--dataset", "cifar"})), "cifar", "--dataset");
  expect_refused(run(train({"--digital-layers", "99"})), "--digital-layers", "--digital-layers");
  expect_refused(run({ANALOG_SWEEP_BIN, "merge"}), "required", "merge without inputs");
  const Outcome help = run({ANALOG_TRAIN_BIN, "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("--epochs"));
}

// Config values: finite and decimal; the unbounded values the documentation names work.
TEST(HostileInput, ConfigValuesMustBeFiniteAndDecimal) {
  const std::vector<std::string> sets = {
      "forward.out_noise=inf",  "forward.out_noise=1e400",
      "forward.out_noise=nan",  "forward.out_noise=-inf",
      "update.desired_bl=0x10", "forward.out_noise=" + std::string(100000, '7') + "x"};
  for (const std::string& set : sets) {
    expect_refused(run(train({"--set", set})), "'" + set.substr(0, set.find('=')) + "'",
                   set.substr(0, 40));
  }
}

// The documented "0: unbounded" converters train (no clip, no quantisation), they do not diverge.
TEST(HostileInput, UnboundedConvertersTrain) {
  for (const std::vector<std::string> sets :
       {std::vector<std::string>{"--set", "forward.out_bound=0"},
        std::vector<std::string>{"--set", "backward.out_bound=0"},
        std::vector<std::string>{"--set", "forward.noise_management=none", "--set",
                                 "forward.inp_bound=0"}}) {
    auto args = train(sets);
    args.push_back("--json");
    const Outcome r = run(args);
    EXPECT_EQ(r.code, 0) << sets.back() << ": " << r.err;
    EXPECT_THAT(r.out, Not(HasSubstr("diverged\":true"))) << sets.back();
    EXPECT_THAT(r.out, Not(HasSubstr("null"))) << sets.back();
  }
}

// JSON files: deep nesting and repeated keys are refused with one line, not a stack overflow.
TEST(HostileInput, DeepOrDuplicatedJsonIsRefused) {
  const std::string deep = tmp("deep.json"), deep_value = tmp("deep_value.json"),
                    dup = tmp("dup.json"), grid_deep = tmp("grid_deep.json"),
                    grid_dup = tmp("grid_dup.json");
  write_text(deep, deep_json(100000));
  write_text(deep_value, "{\"forward\": {\"out_noise\": " + deep_json(100000) + "}}");
  write_text(dup, R"({"forward": {"out_noise": 0.1, "out_noise": 0.2}})");
  write_text(grid_deep, "{\"forward.out_noise\": " + deep_json(100000) + "}");
  write_text(grid_dup, R"({"update.desired_bl": [1], "update.desired_bl": [3]})");
  expect_refused(run(train({"--config", deep})), "nested deeper than 64", "deep config");
  expect_refused(run(train({"--config", deep_value})), "nested deeper than 64", "deep value");
  expect_refused(run(train({"--config", dup})), "'out_noise' appears twice", "duplicate key");
  expect_refused(run(sweep(tmp("g1.csv"), {"--grid-file", grid_deep})), "nested deeper",
                 "deep grid");
  expect_refused(run(sweep(tmp("g2.csv"), {"--grid-file", grid_dup})), "appears twice",
                 "duplicate grid key");
}

// Special files where a file is read: refused at once, never waited on.
TEST(HostileInput, SpecialFilesAreRefusedWithoutBlocking) {
  const std::string fifo = tmp("config.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(run(train({"--config", fifo}), "", 20), "not a regular file", "config FIFO");
  expect_refused(run(train({"--config", ::testing::TempDir()})), "not a regular file",
                 "config directory");
  expect_refused(run(sweep(tmp("g3.csv"), {"--grid-file", fifo}), "", 20), "not a regular file",
                 "grid FIFO");
  expect_refused(run({ANALOG_SWEEP_BIN, "plot", fifo, "-o", tmp("p.svg")}, "", 20),
                 "not a regular file", "plot FIFO");
  // A FIFO as the results file of a sweep.
  const Outcome r = run(sweep(fifo, {}), "", 20);
  expect_refused(r, "not a regular file", "results FIFO");
  struct stat st {};
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

/// A data folder with the real MNIST files but `file` replaced by what `make` puts there.
std::string data_with(const std::string& name, const std::string& file,
                      const std::function<void(const std::string&)>& make) {
  const std::string dir = tmp(name);
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    if (file != f) {
      EXPECT_EQ(symlink((std::string(ANALOG_DATA_DIR) + "/" + f).c_str(), (dir + "/" + f).c_str()),
                0);
    }
  }
  make(dir + "/" + file);
  return dir;
}

TEST(HostileInput, BrokenDataFilesGiveOneLine) {
  const auto with_data = [](const std::string& dir) {
    return std::vector<std::string>{
        ANALOG_TRAIN_BIN, "--data", dir, "--epochs", "1", "--train-samples", "100",
        "--test-samples", "100"};
  };
  const std::string as_dir = data_with("data_dir", "train-labels-idx1-ubyte",
                                       [](const std::string& p) { mkdir(p.c_str(), 0700); });
  expect_refused(run(with_data(as_dir)), "not a regular file", "data file is a directory");
  const std::string as_fifo = data_with("data_fifo", "train-labels-idx1-ubyte",
                                        [](const std::string& p) { mkfifo(p.c_str(), 0600); });
  expect_refused(run(with_data(as_fifo), "", 20), "not a regular file", "data file is a FIFO");
  // 255 dimensions of 2^32 - 1: their product overflows 64 bits.
  const std::string overflow =
      data_with("data_overflow", "train-labels-idx1-ubyte", [](const std::string& p) {
        std::string bytes = {0, 0, 0x08, static_cast<char>(255)};
        for (int k = 0; k < 255; ++k) bytes += std::string(4, static_cast<char>(0xff));
        write_text(p, bytes + "tail");
      });
  const Outcome r = run(with_data(overflow));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, AnyOf(HasSubstr("need more"), HasSubstr("expected rank")));
  const std::string empty = data_with("data_empty", "t10k-images-idx3-ubyte",
                                      [](const std::string& p) { write_text(p, ""); });
  expect_refused(run(with_data(empty)), "t10k-images-idx3-ubyte", "empty data file");
}

// Grids whose size overflows are refused before any file is made.
TEST(HostileInput, OverflowingGridsAreRefusedBeforeAnyFile) {
  const std::string out = tmp("overflow.csv");
  expect_refused(run(sweep(out, {"--grid", "forward.out_noise=0:1e300:1e-300"})), "too many",
                 "range length");
  expect_refused(
      run(sweep(out, {"--grid", "forward.out_noise=0:999:1", "--grid", "backward.out_noise=0:999:1",
                      "--grid", "forward.inp_noise=0:99:1"})),
      "more than 1000000 points", "point count");
  EXPECT_FALSE(std::ifstream(out).good());
  expect_refused(run(sweep(out, {"--jobs", "100000"})), "--jobs", "--jobs");
  expect_refused(run(sweep(out, {"--processes", "0"})), "--processes", "--processes");
  expect_refused(run(sweep(out, {"--repeats", "0"})), "--repeats", "--repeats");
  // A missing data set: no results file is left behind.
  expect_refused(run({ANALOG_SWEEP_BIN, "--data", tmp("no_such_dir"), "-o", out}), "cannot open",
                 "missing data");
  EXPECT_FALSE(std::ifstream(out).good());
}

/// A complete small results file (2 points, 1 epoch of 300 samples).
std::string small_results(const std::string& name) {
  const std::string out = tmp(name);
  const Outcome r = run(sweep(out, {}));
  EXPECT_EQ(r.code, 0) << r.err;
  return out;
}

// merge -o never replaces a symlink, FIFO or device, nor a file it was not given.
TEST(HostileInput, MergeNeverDestroysItsTarget) {
  const std::string results = small_results("merge_in.csv");
  const std::string before = test::file_contents(results);
  // A symlink to the input: refused, the link and its target as they were.
  const std::string link = tmp("merge_link.csv");
  ASSERT_EQ(symlink(results.c_str(), link.c_str()), 0);
  expect_refused(run({ANALOG_SWEEP_BIN, "merge", results, "-o", link}), "not a regular file",
                 "symlink");
  struct stat st {};
  ASSERT_EQ(lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(test::file_contents(results), before);
  // A FIFO and a device (as root, a device node would have been replaced).
  const std::string fifo = tmp("merge.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(run({ANALOG_SWEEP_BIN, "merge", results, "-o", fifo}, "", 20),
                 "not a regular file", "FIFO");
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  expect_refused(run({ANALOG_SWEEP_BIN, "merge", results, "-o", "/dev/full"}), "not a regular file",
                 "device");
  ASSERT_EQ(stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  // Another complete results file it was not given: kept, not overwritten.
  const std::string other = tmp("merge_other.csv");
  write_text(other, before + "# notes\n");
  expect_refused(run({ANALOG_SWEEP_BIN, "merge", results, "-o", other}),
                 "exists and is not one of the inputs", "other file");
  EXPECT_EQ(test::file_contents(other), before + "# notes\n");
  // Into itself (one of its inputs): allowed, the same rows.
  const Outcome self = run({ANALOG_SWEEP_BIN, "merge", results, "-o", results});
  EXPECT_EQ(self.code, 0) << self.err;
  EXPECT_EQ(test::file_contents(results), before);
  // A folder that does not exist: one line, no temporary file anywhere.
  expect_refused(run({ANALOG_SWEEP_BIN, "merge", results, "-o", tmp("no_dir") + "/m.csv"}),
                 "cannot create", "missing folder");
  // plot -o onto a symlink: refused as well.
  expect_refused(run({ANALOG_SWEEP_BIN, "plot", results, "-o", link}), "not a regular file",
                 "plot onto a symlink");
}

// Results files edited or broken by hand: a clear line, the file untouched.
TEST(HostileInput, BrokenResultsFilesGiveOneLine) {
  const std::string results = small_results("broken.csv");
  const std::string good = test::file_contents(results);
  write_text(results, good + "analog,xx,1,0,zz\n");
  const Outcome resume = run(sweep(results, {}));
  expect_refused(resume, "broken.csv", "malformed row on resume");
  EXPECT_EQ(test::file_contents(results), good + "analog,xx,1,0,zz\n");
  expect_refused(run({ANALOG_SWEEP_BIN, "plot", results, "-o", tmp("b.svg")}), "broken.csv",
                 "malformed row in plot");
  // A header whose JSON nests 100000 deep.
  const std::string deep = tmp("deep_header.csv");
  write_text(deep, "# analog-sweep " + deep_json(100000) + "\n");
  expect_refused(run({ANALOG_SWEEP_BIN, "plot", deep, "-o", tmp("d.svg")}), "nested deeper",
                 "deep header");
  const std::string deep_jsonl = tmp("deep_header.jsonl");
  write_text(deep_jsonl, "{\"analog_sweep\": " + deep_json(100000) + "}\n");
  expect_refused(run({ANALOG_SWEEP_BIN, "plot", deep_jsonl, "-o", tmp("d2.svg")}), "nested deeper",
                 "deep JSON-lines header");
  // A header only: nothing to draw is said as such.
  const std::string header_only = tmp("header_only.csv");
  const size_t second_line = good.find('\n', good.find('\n') + 1);
  write_text(header_only, good.substr(0, second_line + 1));
  const Outcome plot = run({ANALOG_SWEEP_BIN, "plot", header_only, "-o", tmp("h.svg")});
  EXPECT_TRUE(plot.code == 0 || plot.code == 2) << plot.code << ": " << plot.err;
  EXPECT_LE(plot.err_lines(), 1) << plot.err;
  // Not a results file at all.
  const std::string junk = tmp("junk.csv");
  write_text(junk, "hello\nworld\n");
  expect_refused(run(sweep(junk, {})), "junk.csv", "not a results file");
  EXPECT_EQ(test::file_contents(junk), "hello\nworld\n");
}

/// `text`'s line `line` (1-based) with its comma-separated field `field` (0-based, before the
/// quoted config) set to `value`.
std::string with_field(const std::string& text, int line, int field, const std::string& value) {
  size_t at = 0;
  for (int l = 1; l < line; ++l) at = text.find('\n', at) + 1;
  for (int f = 0; f < field; ++f) at = text.find(',', at) + 1;
  return text.substr(0, at) + value + text.substr(text.find(',', at));
}

// Rows edited by hand are not runs of the sweep: resume and merge refuse them, naming the line,
// rather than skip a run that was never made or keep a wrong number.
TEST(HostileInput, EditedRowsAreRefusedOnResumeAndMerge) {
  const std::string results = small_results("edited.csv");
  const std::string good = test::file_contents(results);
  const size_t row3 = good.find('\n', good.find('\n') + 1) + 1;  // line 3: point 0, seed 0
  const std::string line3 = good.substr(row3, good.find('\n', row3) + 1 - row3);
  ASSERT_EQ(line3.rfind("analog,0,1,0,", 0), 0u) << line3;
  const std::vector<std::pair<std::string, std::string>> edits = {
      {with_field(good, 3, 1, "7"), "expected a point 0 to 1, got 7"},
      {with_field(good, 3, 2, "3"), "grid values are not point 0's"},
      {with_field(good, 3, 3, "5"), "seed 5 is not one of the sweep's"},
      {with_field(good, 3, 7, "nan"), "accuracy outside [0, 1]"},
      {with_field(good, 3, 7, "1.5"), "accuracy outside [0, 1]"},
      {with_field(good, 3, 0, "digital"), "the sweep has no digital runs"},
      {with_field(good, 3, 9, "diverged"), "expected a divergence epoch 1 to 1, got 0"},
      {good + line3, "line 5: run analog/0/0 is recorded twice"},
  };
  for (const auto& [text, what] : edits) {
    write_text(results, text);
    const Outcome resume = run(sweep(results, {}));
    expect_refused(resume, what, "resume: " + what);
    EXPECT_THAT(resume.err, HasSubstr("edited.csv: line ")) << what;
    EXPECT_EQ(test::file_contents(results), text) << what;
    expect_refused(run({ANALOG_SWEEP_BIN, "merge", results, "-o", tmp("edited_m.csv")}), what,
                   "merge: " + what);
  }
}

// The data set's identity (file sizes and hashes) is part of the sweep: a shard or a resume on
// other data is refused instead of mixing results of two data sets in one file.
TEST(HostileInput, OtherDataIsAnotherSweep) {
  const std::string results = small_results("data_identity.csv");
  const std::string good = test::file_contents(results);
  EXPECT_THAT(good, HasSubstr("t10k-labels-idx1-ubyte 10008 fnv1a64:"));
  // The same labels but one, still a valid data set.
  const std::string other =
      data_with("data_other", "t10k-labels-idx1-ubyte", [](const std::string& p) {
        std::string bytes =
            test::file_contents(std::string(ANALOG_DATA_DIR) + "/t10k-labels-idx1-ubyte");
        bytes.back() = static_cast<char>(bytes.back() == 0 ? 1 : 0);
        write_text(p, bytes);
      });
  std::vector<std::string> args = sweep(results, {});
  args[2] = other;  // --data
  expect_refused(run(args), "different sweep", "resume on other data");
  EXPECT_EQ(test::file_contents(results), good);
  // The same files in another folder are the same data: the sweep resumes (nothing to do).
  const std::string copy =
      data_with("data_copy", "t10k-labels-idx1-ubyte", [](const std::string& p) {
        write_text(p,
                   test::file_contents(std::string(ANALOG_DATA_DIR) + "/t10k-labels-idx1-ubyte"));
      });
  args[2] = copy;
  const Outcome same = run(args);
  EXPECT_EQ(same.code, 0) << same.err;
  EXPECT_EQ(test::file_contents(results), good);
  // A --processes parent checks the data before it makes the results file.
  const std::string out = tmp("processes_no_data.csv");
  std::vector<std::string> pool = sweep(out, {"--processes", "2"});
  pool[2] = tmp("no_such_data");
  pool[14] = "2";  // --jobs
  expect_refused(run(pool), "cannot open", "--processes on missing data");
  EXPECT_FALSE(std::ifstream(out).good());
}

// A network too big for memory: LibTorch's allocation failure is said with the network and batch
// that needed it.
TEST(HostileInput, ANetworkTooBigForMemoryIsNamed) {
#if defined(__SANITIZE_ADDRESS__) || defined(ANALOG_TEST_UNDER_ASAN)
  GTEST_SKIP() << "AddressSanitizer maps more address space than the limit leaves";
#endif
  // A 100000 x 100000 weight is 40 GB; the process may map 8 GB.
  std::vector<std::string> args = train({});
  args.at(args.size() - 1) = "100000,100000";  // --hidden
  const Outcome r = run(args, "", 60, rlim_t{8} << 30);
  expect_refused(r, "not enough memory for the mlp 784-100000-100000-10, batch 64", "40 GB weight");
}

// Lists, devices and folders are read strictly: an empty list item, an unknown device or a data
// "folder" that is a file is named, not skipped or left to LibTorch's words.
TEST(HostileInput, ListsDevicesAndFoldersAreStrict) {
  std::vector<std::string> hidden = train({});
  for (const std::string list : {"8,,4", "8,", ",8", "8;4"}) {
    hidden.back() = list;
    expect_refused(run(hidden), "--hidden: expected a whole number from 1 to 100000",
                   "--hidden " + list);
  }
  expect_refused(run(train({"--hidden", "16"})), "--hidden", "--hidden given twice");
  for (const std::string device : {"tpu", "cuda:", "cuda:-1", "cuda:x", "CPU"}) {
    expect_refused(run(train({"--device", device})), "--device: expected cpu, cuda or cuda:N",
                   "--device " + device);
  }
  std::vector<std::string> file_as_data = train({});
  file_as_data[2] = std::string(ANALOG_DATA_DIR) + "/t10k-labels-idx1-ubyte";
  expect_refused(run(file_as_data), "not a directory", "--data naming a file");
}

// A config or grid file far bigger than one can be (a 1 GB sparse file) is refused by its size,
// before it is read into memory.
TEST(HostileInput, HugeConfigAndGridFilesAreRefusedUnread) {
  const std::string huge = tmp("huge.json");
  write_text(huge, "{}");
  ASSERT_EQ(truncate(huge.c_str(), off_t{1} << 30), 0);
  expect_refused(run(train({"--config", huge})), "is 1073741824 bytes, more than the 16777216",
                 "1 GB config");
  expect_refused(run(sweep(tmp("huge_grid.csv"), {"--grid-file", huge})),
                 "grid file: '" + huge + "' is 1073741824 bytes", "1 GB grid file");
  std::remove(huge.c_str());
}

// Output that cannot be written is an error, not a silent success.
TEST(HostileInput, AFullDiskForStdoutIsAnError) {
  const Outcome r = run(train({"--json"}), "/dev/full");
  expect_refused(r, "writing the output", "--json to /dev/full");
}

}  // namespace
}  // namespace analog
