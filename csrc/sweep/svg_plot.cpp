// Dependency-free SVG output for sweep results.
#include "analog/sweep/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <c10/util/Exception.h>

#include "sweep/atomic_write.h"

namespace analog::sweep {
namespace {

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

/// Viridis-like colour for t in [0, 1].
std::string colour(double t) {
  static const double stops[][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::min(1.0, std::max(0.0, t)) * 4.0;
  const int k = std::min(3, static_cast<int>(t));
  const double f = t - k;
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x",
                static_cast<int>(stops[k][0] + f * (stops[k + 1][0] - stops[k][0])),
                static_cast<int>(stops[k][1] + f * (stops[k + 1][1] - stops[k][1])),
                static_cast<int>(stops[k][2] + f * (stops[k + 1][2] - stops[k][2])));
  return buf;
}

const char* kSeries[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

struct Cell {
  double sum = 0;
  int64_t n = 0;
  bool diverged = false;
};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s)
    out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return out;
}

/// "1s", "1h", "30d", "1y": `t` seconds in the largest unit it fills.
std::string time_label(double t) {
  const std::pair<double, const char*> units[] = {
      {31536000, "y"}, {86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
  for (const auto& [seconds, name] : units) {
    if (t >= seconds) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3g%s", t / seconds, name);
      return buf;
    }
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gs", t);
  return buf;
}

/// The chart of mean test accuracy (over repeats) against the time after programming, on a log
/// axis (t = 0, if measured, one decade left of the first positive time), one line per grid
/// point coloured by its value of the first axis; its top left corner at (x, y).
std::string drift_chart(const SweepSpec& spec, const ResultsData& data, int x, int y, int w,
                        int h) {
  const auto& times = spec.eval_times;
  const auto& axis = spec.axes[0];
  std::map<int64_t, std::vector<Cell>> points;  // point -> per time
  std::map<int64_t, size_t> first_value;        // point -> index of its first-axis value
  double lo = 1, hi = 0;
  for (const auto& row : data.rows) {
    if (row.kind != "analog" || row.status != "ok") continue;
    auto& cells = points[row.point];
    cells.resize(times.size());
    first_value[row.point] = static_cast<size_t>(
        std::find(axis.values.begin(), axis.values.end(), row.values[0]) - axis.values.begin());
    for (size_t k = 0; k < times.size(); ++k) {
      if (!std::isfinite(row.test_acc_at[k])) continue;
      cells[k].sum += row.test_acc_at[k];
      ++cells[k].n;
    }
  }
  for (const auto& [point, cells] : points) {
    for (const auto& c : cells) {
      if (c.n == 0) continue;
      lo = std::min(lo, c.sum / c.n);
      hi = std::max(hi, c.sum / c.n);
    }
  }
  if (lo > hi) lo = 0, hi = 1;
  const double margin = std::max(0.005, 0.1 * (hi - lo));
  lo = std::max(0.0, lo - margin), hi = std::min(1.0, hi + margin);
  double t_min = 0, t_max = 0;
  for (const double t : times) {
    if (t > 0) t_min = t_min > 0 ? std::min(t_min, t) : t;
    t_max = std::max(t_max, t);
  }
  if (t_min <= 0) t_min = t_max = 1;  // (only t = 0 measured)
  const double l_lo = std::log10(t_min) - 1, l_hi = std::max(std::log10(t_max), l_lo + 2);
  const auto px = [&](double t) {
    return x + (((t > 0 ? std::log10(t) : l_lo) - l_lo) / (l_hi - l_lo)) * w;
  };
  const auto py = [&](double a) { return y + h - (a - lo) / (hi - lo) * h; };
  std::ostringstream svg;
  svg << "<text x='" << x << "' y='" << y - 14
      << "' font-size='13'>test accuracy vs time after programming (mean of " << spec.eval_repeats
      << " programmings" << (spec.repeats > 1 ? " and of the repeats" : "")
      << "; one line per point)</text>\n";
  svg << "<rect x='" << x << "' y='" << y << "' width='" << w << "' height='" << h
      << "' fill='none' stroke='#444'/>\n";
  for (int k = 0; k <= 5; ++k) {
    const double a = lo + (hi - lo) * k / 5.0;
    svg << "<line x1='" << x << "' x2='" << x + w << "' y1='" << py(a) << "' y2='" << py(a)
        << "' stroke='#eee'/><text x='" << x - 6 << "' y='" << py(a) + 4 << "' text-anchor='end'>"
        << fixed(a, 3) << "</text>\n";
  }
  for (const double t : times) {
    svg << "<line x1='" << px(t) << "' x2='" << px(t) << "' y1='" << y << "' y2='" << y + h
        << "' stroke='#eee'/><text x='" << px(t) << "' y='" << y + h + 16
        << "' text-anchor='middle'>" << (t > 0 ? time_label(t) : "0") << "</text>\n";
  }
  const size_t n0 = axis.values.size();
  for (const auto& [point, cells] : points) {
    const std::string stroke =
        colour(n0 > 1 ? static_cast<double>(first_value[point]) / static_cast<double>(n0 - 1) : 0);
    std::string line;
    for (size_t k = 0; k < times.size(); ++k) {
      if (cells[k].n == 0) continue;
      const double m = cells[k].sum / cells[k].n;
      line += (line.empty() ? "M" : " L") + fixed(px(times[k]), 1) + "," + fixed(py(m), 1);
      svg << "<circle cx='" << px(times[k]) << "' cy='" << py(m) << "' r='2.5' fill='" << stroke
          << "'/>\n";
    }
    if (!line.empty())
      svg << "<path d='" << line << "' fill='none' stroke='" << stroke
          << "' stroke-width='1.5'><title>point " << point << "</title></path>\n";
  }
  for (size_t i = 0; i < n0; ++i) {
    svg << "<text x='" << x + w + 12 << "' y='" << y + 16 + static_cast<int>(i) * 16 << "' fill='"
        << colour(n0 > 1 ? static_cast<double>(i) / static_cast<double>(n0 - 1) : 0) << "'>"
        << escape(axis.key) << " = " << escape(axis.values[i]) << "</text>\n";
  }
  svg << "<text x='" << x + w / 2 << "' y='" << y + h + 34
      << "' text-anchor='middle'>time after programming (log scale)</text>\n";
  return svg.str();
}

/// The horizontal grid and labels of an accuracy axis from 0 to 1 in steps of 0.1, for a chart
/// at (x, y) of w x h.
std::string accuracy_grid(int x, int y, int w, int h) {
  std::ostringstream svg;
  for (int k = 0; k <= 10; ++k) {
    const double py = y + h - k / 10.0 * h;
    svg << "<line x1='" << x << "' x2='" << x + w << "' y1='" << py << "' y2='" << py
        << "' stroke='#eee'/><text x='" << x - 6 << "' y='" << py + 4 << "' text-anchor='end'>"
        << fixed(k / 10.0, 1) << "</text>\n";
  }
  return svg.str();
}

/// Accuracy against training energy: per point the means over its repeats, the Pareto front.
std::string energy_chart(const ResultsData& data, int x, int y, int w, int h) {
  std::map<int64_t, std::pair<Cell, Cell>> points;  // point -> (energy, accuracy)
  Cell digital;
  for (const auto& row : data.rows) {
    if (row.status != "ok" || !std::isfinite(row.test_acc)) continue;
    if (row.kind == "analog" && std::isfinite(row.energy.train_j) && row.energy.train_j > 0) {
      auto& [e, a] = points[row.point];
      e.sum += row.energy.train_j, ++e.n;
      a.sum += row.test_acc, ++a.n;
    }
    if (row.kind == "analog" && std::isfinite(row.energy.digital_train_j) &&
        row.energy.digital_train_j > 0)
      digital.sum += row.energy.digital_train_j, ++digital.n;
  }
  std::vector<int64_t> ids;
  std::vector<double> energy, accuracy;
  for (const auto& [point, cells] : points) {
    ids.push_back(point);
    energy.push_back(cells.first.sum / cells.first.n);
    accuracy.push_back(cells.second.sum / cells.second.n);
  }
  std::ostringstream svg;
  svg << "<text x='" << x << "' y='" << y - 14
      << "' font-size='13'>test accuracy vs training energy on analog hardware (mean over "
         "repeats; ringed: the Pareto front)</text>\n";
  svg << "<rect x='" << x << "' y='" << y << "' width='" << w << "' height='" << h
      << "' fill='none' stroke='#444'/>\n";
  if (ids.empty()) return svg.str();
  double e_lo = *std::min_element(energy.begin(), energy.end()),
         e_hi = *std::max_element(energy.begin(), energy.end());
  if (digital.n) {
    e_lo = std::min(e_lo, digital.sum / digital.n);
    e_hi = std::max(e_hi, digital.sum / digital.n);
  }
  const double l_lo = std::floor(std::log10(e_lo)),
               l_hi = std::max(std::ceil(std::log10(e_hi)), l_lo + 1);
  const auto px = [&](double e) { return x + (std::log10(e) - l_lo) / (l_hi - l_lo) * w; };
  const auto py = [&](double a) { return y + h - a * h; };  // accuracy 0..1
  svg << accuracy_grid(x, y, w, h);
  for (double l = l_lo; l <= l_hi + 1e-9; l += 1) {
    char label[16];
    std::snprintf(label, sizeof label, "1e%d", static_cast<int>(l));
    svg << "<line x1='" << px(std::pow(10, l)) << "' x2='" << px(std::pow(10, l)) << "' y1='" << y
        << "' y2='" << y + h << "' stroke='#eee'/><text x='" << px(std::pow(10, l)) << "' y='"
        << y + h + 16 << "' text-anchor='middle'>" << label << "</text>\n";
  }
  if (digital.n) {
    const double d = digital.sum / digital.n;
    svg << "<line x1='" << px(d) << "' x2='" << px(d) << "' y1='" << y << "' y2='" << y + h
        << "' stroke='black' stroke-dasharray='6,4'/><text x='" << px(d) - 4 << "' y='" << y + 14
        << "' text-anchor='end'>digital FP32</text>\n";
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    svg << "<circle cx='" << px(energy[i]) << "' cy='" << py(accuracy[i])
        << "' r='3' fill='#1f77b4'><title>point " << ids[i] << "</title></circle>\n";
  }
  std::string front;
  for (const size_t i : pareto_front(energy, accuracy)) {
    front +=
        (front.empty() ? "M" : " L") + fixed(px(energy[i]), 1) + "," + fixed(py(accuracy[i]), 1);
    svg << "<circle cx='" << px(energy[i]) << "' cy='" << py(accuracy[i])
        << "' r='6' fill='none' stroke='#d62728' stroke-width='1.5'><title>point " << ids[i]
        << " (Pareto front)</title></circle>\n";
  }
  svg << "<path d='" << front << "' fill='none' stroke='#d62728' stroke-width='1'/>\n";
  svg << "<text x='" << x + w / 2 << "' y='" << y + h + 34
      << "' text-anchor='middle'>training energy, J (log scale)</text>\n";
  return svg.str();
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<double>& cost,
                                 const std::vector<double>& value) {
  std::vector<size_t> order;
  for (size_t i = 0; i < cost.size() && i < value.size(); ++i) {
    if (std::isfinite(cost[i]) && std::isfinite(value[i])) order.push_back(i);
  }
  // By rising cost, at equal cost the best value first (then by index): a point is on the front
  // when its value beats every cheaper (or equally cheap and better) point's.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (cost[a] != cost[b]) return cost[a] < cost[b];
    return value[a] != value[b] ? value[a] > value[b] : a < b;
  });
  std::vector<size_t> front;
  for (const size_t i : order) {
    if (front.empty() || value[i] > value[front.back()]) front.push_back(i);
  }
  return front;
}

int64_t write_sweep_svg(const ResultsData& data, const std::string& path) {
  const SweepSpec spec = SweepSpec::from_fingerprint(data.fingerprint);
  const auto& axes = spec.axes;
  TORCH_CHECK(!axes.empty(), "plot: the sweep has no grid axes");
  const size_t n0 = axes[0].values.size();
  const size_t n1 = axes.size() > 1 ? axes[1].values.size() : 1;
  const size_t n2 = axes.size() > 2 ? axes[2].values.size() : 1;
  const auto index_of = [&](size_t a, const std::string& v) {
    const auto& vals = axes[a].values;
    return static_cast<size_t>(std::find(vals.begin(), vals.end(), v) - vals.begin());
  };
  // Mean over repeats (and further axes) per (a0, a1, a2); per repeat for the line chart.
  std::vector<Cell> cells(n0 * n1 * n2);
  std::map<std::pair<size_t, size_t>, std::map<int64_t, Cell>>
      lines;  // (a0, series) -> seed -> cell
  double digital_sum = 0;
  int64_t digital_n = 0, drawn = 0;
  for (const auto& row : data.rows) {
    if (row.kind == "digital") {
      if (row.status == "ok") {
        digital_sum += row.test_acc;
        ++digital_n;
      }
      continue;
    }
    const size_t i0 = index_of(0, row.values[0]);
    const size_t i1 = axes.size() > 1 ? index_of(1, row.values[1]) : 0;
    const size_t i2 = axes.size() > 2 ? index_of(2, row.values[2]) : 0;
    Cell& c = cells[(i2 * n0 + i0) * n1 + i1];
    ++drawn;
    const size_t series = axes.size() > 2 ? i2 : (axes.size() > 1 ? i1 : 0);
    if (row.status != "ok" || !std::isfinite(row.test_acc)) {
      c.diverged = true;
      continue;
    }
    c.sum += row.test_acc;
    ++c.n;
    Cell& l = lines[{i0, series}][row.seed];
    l.sum += row.test_acc;
    ++l.n;
  }
  double lo = 1, hi = 0;
  for (const auto& c : cells) {
    if (c.n) {
      lo = std::min(lo, c.sum / c.n);
      hi = std::max(hi, c.sum / c.n);
    }
  }
  if (lo > hi) lo = 0, hi = 1;
  if (hi - lo < 1e-6) hi = lo + 1e-6;

  std::ostringstream svg;
  const int cell = 44, pad = 60, panel_w = static_cast<int>(n1) * cell,
            panel_h = static_cast<int>(n0) * cell;
  const bool heatmaps = axes.size() >= 2;
  const int panels_w = heatmaps ? static_cast<int>(n2) * (panel_w + pad) + pad : 0;
  const int chart_w = 520, chart_h = 320;
  const int width = std::max(panels_w + 90, chart_w + 2 * pad + 260);
  const int heat_h = heatmaps ? panel_h + 110 : 0;
  const int drift_h = spec.eval_times.empty() ? 0 : chart_h + 100;
  const int energy_h = spec.energy_columns ? chart_h + 100 : 0;
  const int height = heat_h + chart_h + 120 + drift_h + energy_h;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
      << "' font-family='sans-serif' font-size='11'>\n<rect width='100%' height='100%' "
         "fill='white'/>\n";
  svg << "<text x='" << pad << "' y='22' font-size='15'>analog-sweep: test accuracy ("
      << spec.train.epochs << " epochs, " << spec.repeats << " repeat(s))</text>\n";
  if (heatmaps) {
    for (size_t p = 0; p < n2; ++p) {
      const int x0 = pad + static_cast<int>(p) * (panel_w + pad), y0 = 70;
      if (axes.size() > 2) {
        svg << "<text x='" << x0 << "' y='" << y0 - 22 << "' font-size='13'>" << escape(axes[2].key)
            << " = " << escape(axes[2].values[p]) << "</text>\n";
      }
      for (size_t i0 = 0; i0 < n0; ++i0) {
        svg << "<text x='" << x0 - 6 << "' y='" << y0 + static_cast<int>(i0) * cell + cell / 2 + 4
            << "' text-anchor='end'>" << escape(axes[0].values[i0]) << "</text>\n";
        for (size_t i1 = 0; i1 < n1; ++i1) {
          const Cell& c = cells[(p * n0 + i0) * n1 + i1];
          const int x = x0 + static_cast<int>(i1) * cell, y = y0 + static_cast<int>(i0) * cell;
          const double acc = c.n ? c.sum / c.n : NAN;
          svg << "<rect x='" << x << "' y='" << y << "' width='" << cell << "' height='" << cell
              << "' fill='" << (c.n ? colour((acc - lo) / (hi - lo)) : "#dddddd")
              << "' stroke='white'/>\n";
          if (c.n) {
            svg << "<text x='" << x + cell / 2 << "' y='" << y + cell / 2 + 4
                << "' text-anchor='middle' fill='"
                << ((acc - lo) / (hi - lo) > 0.6 ? "black" : "white") << "'>" << fixed(acc, 3)
                << "</text>\n";
          }
          if (c.diverged) {
            svg << "<path d='M" << x + 4 << "," << y + 4 << " L" << x + cell - 4 << ","
                << y + cell - 4 << " M" << x + cell - 4 << "," << y + 4 << " L" << x + 4 << ","
                << y + cell - 4 << "' stroke='red' stroke-width='2'/>\n";
          }
        }
      }
      for (size_t i1 = 0; i1 < n1; ++i1) {
        svg << "<text x='" << x0 + static_cast<int>(i1) * cell + cell / 2 << "' y='"
            << y0 + panel_h + 14 << "' text-anchor='middle'>" << escape(axes[1].values[i1])
            << "</text>\n";
      }
      svg << "<text x='" << x0 + panel_w / 2 << "' y='" << y0 + panel_h + 30
          << "' text-anchor='middle'>" << escape(axes[1].key) << "</text>\n";
      svg << "<text x='" << x0 - 40 << "' y='" << y0 + panel_h / 2
          << "' text-anchor='middle' transform='rotate(-90 " << x0 - 40 << "," << y0 + panel_h / 2
          << ")'>" << escape(axes[0].key) << "</text>\n";
    }
    // Shared colour scale.
    const int lx = panels_w + 10, ly = 70, lh = std::max(panel_h, 120);
    svg << "<defs><linearGradient id='scale' x1='0' y1='1' x2='0' y2='0'>";
    for (int k = 0; k <= 10; ++k)
      svg << "<stop offset='" << k * 10 << "%' stop-color='" << colour(k / 10.0) << "'/>";
    svg << "</linearGradient></defs>\n<rect x='" << lx << "' y='" << ly << "' width='16' height='"
        << lh << "' fill='url(#scale)'/>\n<text x='" << lx + 20 << "' y='" << ly + 10 << "'>"
        << fixed(hi, 3) << "</text>\n<text x='" << lx + 20 << "' y='" << ly + lh << "'>"
        << fixed(lo, 3) << "</text>\n<text x='" << lx << "' y='" << ly + lh + 18
        << "'>test acc</text>\n"
        << "<text x='" << lx << "' y='" << ly + lh + 34 << "' fill='red'>x diverged</text>\n";
  }
  // Line chart: accuracy against the first axis.
  const int cx = pad + 10, cy = heat_h + 60;
  const size_t n_series = axes.size() > 2 ? n2 : (axes.size() > 1 ? n1 : 1);
  const std::string& series_key =
      axes.size() > 2 ? axes[2].key : (axes.size() > 1 ? axes[1].key : "");
  std::vector<double> xs(n0);
  bool numeric = true;
  for (size_t i = 0; i < n0; ++i) {
    char* end = nullptr;
    xs[i] = std::strtod(axes[0].values[i].c_str(), &end);
    numeric = numeric && end && *end == '\0';
  }
  if (!numeric)
    for (size_t i = 0; i < n0; ++i) xs[i] = static_cast<double>(i);
  const double xmin = *std::min_element(xs.begin(), xs.end()),
               xmax = *std::max_element(xs.begin(), xs.end());
  const auto px = [&](double x) {
    return cx + (xmax > xmin ? (x - xmin) / (xmax - xmin) : 0.5) * chart_w;
  };
  const auto py = [&](double a) { return cy + chart_h - a * chart_h; };  // accuracy 0..1
  svg << "<text x='" << cx << "' y='" << cy - 14 << "' font-size='13'>test accuracy vs "
      << escape(axes[0].key) << (n_series > 1 ? " per " + escape(series_key) : std::string())
      << " (mean over the other axes" << (spec.repeats > 1 ? ", band: +-1 std over repeats" : "")
      << ")</text>\n";
  svg << "<rect x='" << cx << "' y='" << cy << "' width='" << chart_w << "' height='" << chart_h
      << "' fill='none' stroke='#444'/>\n";
  svg << accuracy_grid(cx, cy, chart_w, chart_h);
  for (size_t i = 0; i < n0; ++i) {
    svg << "<text x='" << px(xs[i]) << "' y='" << cy + chart_h + 16 << "' text-anchor='middle'>"
        << escape(axes[0].values[i]) << "</text>\n";
  }
  if (digital_n) {
    const double d = digital_sum / digital_n;
    svg << "<line x1='" << cx << "' x2='" << cx + chart_w << "' y1='" << py(d) << "' y2='" << py(d)
        << "' stroke='black' stroke-dasharray='6,4'/><text x='" << cx + chart_w - 4 << "' y='"
        << py(d) - 4 << "' text-anchor='end'>digital " << fixed(d, 3) << "</text>\n";
  }
  for (size_t s = 0; s < n_series; ++s) {
    std::string line, band_top, band_bottom;
    for (size_t i = 0; i < n0; ++i) {
      auto it = lines.find({i, s});
      if (it == lines.end()) continue;
      std::vector<double> means;
      for (const auto& [seed, c] : it->second) means.push_back(c.sum / c.n);
      double m = 0;
      for (double v : means) m += v;
      m /= static_cast<double>(means.size());
      double sd = 0;
      for (double v : means) sd += (v - m) * (v - m);
      sd = means.size() > 1 ? std::sqrt(sd / static_cast<double>(means.size() - 1)) : 0;
      line += (line.empty() ? "M" : " L") + fixed(px(xs[i]), 1) + "," + fixed(py(m), 1);
      band_top +=
          (band_top.empty() ? "M" : " L") + fixed(px(xs[i]), 1) + "," + fixed(py(m + sd), 1);
      band_bottom = " L" + fixed(px(xs[i]), 1) + "," + fixed(py(m - sd), 1) + band_bottom;
      svg << "<circle cx='" << px(xs[i]) << "' cy='" << py(m) << "' r='3' fill='" << kSeries[s % 10]
          << "'/>\n";
    }
    if (line.empty()) continue;
    if (spec.repeats > 1) {
      svg << "<path d='" << band_top << band_bottom << " Z' fill='" << kSeries[s % 10]
          << "' opacity='0.2'/>\n";
    }
    svg << "<path d='" << line << "' fill='none' stroke='" << kSeries[s % 10]
        << "' stroke-width='2'/>\n";
    if (n_series > 1) {
      const std::string& label = axes.size() > 2 ? axes[2].values[s] : axes[1].values[s];
      svg << "<text x='" << cx + chart_w + 12 << "' y='" << cy + 16 + static_cast<int>(s) * 16
          << "' fill='" << kSeries[s % 10] << "'>" << escape(series_key) << " = " << escape(label)
          << "</text>\n";
    }
  }
  svg << "<text x='" << cx + chart_w / 2 << "' y='" << cy + chart_h + 34
      << "' text-anchor='middle'>" << escape(axes[0].key) << "</text>\n";
  if (drift_h) svg << drift_chart(spec, data, cx, cy + chart_h + 100, chart_w, chart_h);
  if (energy_h) svg << energy_chart(data, cx, cy + chart_h + 100 + drift_h, chart_w, chart_h);
  svg << "</svg>\n";
  write_file_atomically(path, svg.str(), "plot");
  return drawn;
}

}  // namespace analog::sweep
