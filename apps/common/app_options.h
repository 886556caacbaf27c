// Options shared by analog-train and analog-sweep: training options and the RPU config.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli.h"

#include "analog/config/rpu_config.h"
#include "analog/train/trainer.h"

namespace analog::apps {

/// What both apps read from the command line besides their own options.
struct CommonOptions {
  std::string digital_layers;     ///< --digital-layers as given ("" none; resolved by resolve())
  std::string dataset = "mnist";  ///< mnist | fashion-mnist
  std::string data_dir;           ///< "" until resolved: the data set's folder
  train::TrainOptions train;
  int64_t train_samples = 0, test_samples = 0;
  std::string config_path;
  std::vector<std::string> sets;
};

/// Where each data set's four IDX files are unless --data says otherwise (scripts/setup puts
/// MNIST in data/mnist and installs Debian's dataset-fashion-mnist).
inline std::string default_data_dir(const std::string& dataset) {
  return dataset == "fashion-mnist" ? "/usr/share/datasets/fashion-mnist" : "data/mnist";
}

/// --dataset, --data, --model, --hidden, --epochs, --batch, --lr, --seed, --device,
/// --train-samples,
/// --test-samples, --config and --set.
/// `min_epochs`: 0 where a run may only evaluate (analog-train).
inline void add_common_options(CLI::App& app, CommonOptions& o, int64_t min_epochs = 1) {
  app.add_option("--dataset", o.dataset, "mnist or fashion-mnist")
      ->capture_default_str()
      ->check(CLI::IsMember({"mnist", "fashion-mnist"}));
  app.add_option("--data", o.data_dir,
                 "directory with the data set's four IDX files, raw or .gz (default: data/mnist; "
                 "/usr/share/datasets/fashion-mnist for fashion-mnist)");
  app.add_option("--model", o.train.model,
                 "mlp (784-H-10, ReLU) or lenet5 (aihwkit's LeNet-5: two conv + pool, 512-128-10)")
      ->capture_default_str()
      ->check(CLI::IsMember({"mlp", "lenet5"}));
  app.add_option("--digital-layers", o.digital_layers,
                 "weight layers an analog run keeps digital: first, last or 1-based numbers, "
                 "comma-separated (e.g. first,last)");
  app.add_option_function<std::string>(
         "--hidden", [&o](const std::string& text) { o.train.hidden = whole_numbers(text); },
         "hidden layer widths of the mlp, comma-separated (256,128: 784-256-128-10)")
      ->default_str("256")
      ->check(whole_number_list(1, 100000));
  app.add_option("--epochs", o.train.epochs,
                 min_epochs == 0 ? "epochs (0: evaluate the initial network only)" : "epochs")
      ->capture_default_str()
      ->check(whole_number(min_epochs, 1000000));
  app.add_option("--batch", o.train.batch, "mini-batch size")
      ->capture_default_str()
      ->check(whole_number(1, 1000000));
  app.add_option("--lr", o.train.lr, "learning rate")
      ->capture_default_str()
      ->check(positive_number());
  app.add_option("--seed", o.train.seed, "seed of weights, data order and analog noise")
      ->capture_default_str()
      ->check(whole_number(0, std::numeric_limits<int64_t>::max()));
  app.add_option("--device", o.train.device, "cpu, cuda or cuda:N (needs a CUDA build)")
      ->capture_default_str()
      ->check(device_name());
  app.add_option("--train-samples", o.train_samples,
                 "use the first N training samples (0: all 60000)")
      ->check(whole_number(0, 1000000000));
  app.add_option("--test-samples", o.test_samples, "use the first N test samples (0: all 10000)")
      ->check(whole_number(0, 1000000000));
  app.add_option("--config", o.config_path, "RPU config as a JSON file");
  app.add_option("--set", o.sets,
                 "override a config field: --set forward.out_noise=0.1 (repeatable)");
}

/// --eval-times (the text, read by decimal_numbers) and --eval-repeats, which needs it.
inline void add_eval_options(CLI::App& app, std::string& times, int64_t& repeats) {
  CLI::Option* times_option =
      app.add_option("--eval-times", times,
                     "after training, program the inference tiles and measure the test accuracy "
                     "at these times after programming, in seconds (e.g. 1,3600,86400)")
          ->check(non_negative_number_list());
  app.add_option("--eval-repeats", repeats,
                 "programmings averaged at each --eval-times time (mean +- sd)")
      ->capture_default_str()
      ->check(whole_number(1, 100000))
      ->needs(times_option);
}

/// --digital-layers as layer numbers of the network of `options` ("first" is 1, "last" its last
/// weight layer), in order and each once; an unknown word or a layer it lacks is an error.
inline std::vector<int64_t> parse_digital_layers(const std::string& text,
                                                 const train::TrainOptions& options) {
  if (text.empty()) return {};
  return train::parse_layer_set(text, train::weight_layers(options), ',', "--digital-layers");
}

/// The data folder: --data, or the data set's default.
inline std::string data_dir_of(const CommonOptions& o) {
  return o.data_dir.empty() ? default_data_dir(o.dataset) : o.data_dir;
}

/// The RPU config of --config and --set, validated (errors name the key and the value).
inline RPUConfig build_config(const CommonOptions& o) {
  RPUConfig cfg;
  if (!o.config_path.empty()) cfg = RPUConfig::from_json_file(o.config_path);
  for (const auto& s : o.sets) {
    const auto eq = s.find('=');
    TORCH_CHECK(eq != std::string::npos, "--set: expected key=value, got '", s, "'");
    cfg.set(s.substr(0, eq), s.substr(eq + 1));
  }
  cfg.validate();
  return cfg;
}

}  // namespace analog::apps
