// analogtorch: simulated analog in-memory computing for LibTorch. The umbrella header.
#pragma once

#include "analog/config/rpu_config.h"
#include "analog/data/idx.h"
#include "analog/data/mnist.h"
#include "analog/error_message.h"
#include "analog/nn/analog_conv.h"
#include "analog/nn/analog_linear.h"
#include "analog/nn/conversion.h"
#include "analog/nn/inference.h"
#include "analog/nonfinite_error.h"
#include "analog/optim/analog_sgd.h"
#include "analog/quoted.h"
#include "analog/tile/analog_tile.h"
#include "analog/train/deployment.h"
#include "analog/train/trainer.h"
