#include "metrics/metrics.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace oak::metrics {

namespace {

// A programming error: straight to stderr, whatever the logger does, then abort.
[[noreturn]] void misuse(const std::string& what) {
  fmt::print(stderr, "metrics: {}\n", what);
  std::abort();
}

bool nameChar(char c, bool first, bool colon) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

bool validName(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!nameChar(name[i], i == 0, colon)) return false;
  }
  return true;
}

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0.
size_t utf8Sequence(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

std::string joinKey(std::span<const std::string> values) {
  std::string key;
  for (const auto& v : values) {
    key += v;
    key += '\xff';  // never part of valid UTF-8, so keys of different splits cannot collide
  }
  return key;
}

}  // namespace

void appendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::trunc(v) && std::fabs(v) < 9.0e15) {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(v));
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);  // shortest exact representation
  }
}

void appendEscapedHelp(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void appendEscapedLabel(std::string& out, std::string_view s) {
  while (!s.empty()) {
    size_t n = utf8Sequence(s);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD: the parser rejects invalid UTF-8
      s.remove_prefix(1);
      continue;
    }
    char c = s[0];
    if (n == 1 && c == '\\') {
      out += "\\\\";
    } else if (n == 1 && c == '"') {
      out += "\\\"";
    } else if (n == 1 && c == '\n') {
      out += "\\n";
    } else {
      out.append(s.data(), n);
    }
    s.remove_prefix(n);
  }
}

bool validMetricName(std::string_view name) {
  return validName(name, true);
}

bool validLabelName(std::string_view name) {
  return validName(name, false) && !name.starts_with("__");
}

void Exposition::family(std::string_view name, std::string_view help, Type type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  appendEscapedHelp(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == Type::kCounter ? " counter\n"
          : type == Type::kGauge ? " gauge\n"
                                 : " histogram\n";
}

void Exposition::sample(std::string_view name, std::span<const Label> labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += labels[i].name;
      out_ += "=\"";
      appendEscapedLabel(out_, labels[i].value);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  appendNumber(out_, value);
  out_ += '\n';
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  if (std::isnan(v)) return;
  // Bucket `le` counts v <= bound: the first bound not below v.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  // The count is the sum of the buckets, so +Inf and _count always agree within a scrape.
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> slowBuckets() {
  return {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

FamilyBase::ChildBase& FamilyBase::find(std::span<const std::string_view> values,
                                        const std::function<std::unique_ptr<ChildBase>()>& make) {
  std::vector<std::string> padded(label_names_.size());
  for (size_t i = 0; i < padded.size() && i < values.size(); ++i) padded[i] = values[i];
  if (values.size() != label_names_.size()) {
    spdlog::error("metrics: {} takes {} label values, got {}", name_, label_names_.size(),
                  values.size());
  }
  std::string key = joinKey(padded);
  std::lock_guard lock(mu_);
  auto& slot = children_[key];
  if (!slot) {
    slot = make();
    slot->values = std::move(padded);
  }
  return *slot;
}

void FamilyBase::render(Exposition& out) const {
  std::lock_guard lock(mu_);
  if (children_.empty()) return;
  out.family(name_, help_, type_);
  std::vector<Label> labels;
  for (const auto& [key, child] : children_) {
    labels.clear();
    for (size_t i = 0; i < label_names_.size(); ++i) {
      labels.push_back({label_names_[i], child->values[i]});
    }
    renderChild(out, *child, labels);
  }
}

namespace {

template <class T>
T makeMetric(const std::vector<double>& bounds) {
  if constexpr (std::is_same_v<T, Histogram>) {
    return Histogram(bounds);
  } else {
    (void)bounds;
    return T{};
  }
}

}  // namespace

template <class T>
Family<T>::Child::Child(const std::vector<double>& bounds) : metric(makeMetric<T>(bounds)) {}

template <class T>
void Family<T>::renderChild(Exposition& out, const ChildBase& base,
                            std::vector<Label>& labels) const {
  const T& m = static_cast<const Child&>(base).metric;
  if constexpr (std::is_same_v<T, Histogram>) {
    auto s = m.snapshot();
    std::string bucket = name() + "_bucket";
    std::string le;
    labels.push_back({"le", ""});
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      le.clear();
      appendNumber(le, i < bounds_.size() ? bounds_[i] : INFINITY);
      labels.back().value = le;
      out.sample(bucket, labels, static_cast<double>(s.cumulative[i]));
    }
    labels.pop_back();
    out.sample(name() + "_sum", labels, s.sum);
    out.sample(name() + "_count", labels, static_cast<double>(s.count));
  } else {
    out.sample(name(), labels, m.value());
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <class T>
Family<T>& Registry::declare(std::string name, std::string help, Type type,
                             std::vector<std::string> label_names, std::vector<double> bounds) {
  if (!validMetricName(name)) misuse(fmt::format("'{}' is not a valid metric name", name));
  if (type == Type::kCounter && !name.ends_with("_total")) {
    misuse(fmt::format("counter '{}' must end in _total", name));
  }
  for (const auto& l : label_names) {
    if (!validLabelName(l) || (type == Type::kHistogram && l == "le")) {
      misuse(fmt::format("{}: '{}' is not a valid label name", name, l));
    }
  }
  for (size_t i = 1; i < bounds.size(); ++i) {
    if (!(bounds[i - 1] < bounds[i])) misuse(fmt::format("{}: buckets must ascend", name));
  }
  for (double b : bounds) {
    if (!std::isfinite(b)) misuse(fmt::format("{}: bucket bounds must be finite", name));
  }
  std::lock_guard lock(mu_);
  for (auto& f : families_) {
    if (f->name() != name) continue;
    auto* same = dynamic_cast<Family<T>*>(f.get());
    if (same == nullptr || f->type() != type || f->labelNames() != label_names) {
      misuse(fmt::format("'{}' is declared twice, with different types or labels", name));
    }
    return *same;
  }
  auto family = std::make_unique<Family<T>>(std::move(name), std::move(help), type,
                                            std::move(label_names), std::move(bounds));
  auto& ref = *family;
  // A family without labels has its one series from the start (0 until something happens).
  if (ref.labelNames().empty()) ref.get();
  families_.push_back(std::move(family));
  return ref;
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
  return declare<Counter>(std::move(name), std::move(help), Type::kCounter, std::move(label_names),
                          {});
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names) {
  return declare<Gauge>(std::move(name), std::move(help), Type::kGauge, std::move(label_names), {});
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> bounds) {
  return declare<Histogram>(std::move(name), std::move(help), Type::kHistogram,
                            std::move(label_names), std::move(bounds));
}

void Registry::addCollector(Collector collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::make_unique<Collector>(std::move(collector)));
}

void Registry::render(std::string& out) const {
  Exposition ex(out);
  std::vector<const FamilyBase*> families;
  std::vector<const Collector*> collectors;
  {
    // Families and collectors are only ever added: what is listed stays valid unlocked, and a
    // collector may declare or update metrics of this registry.
    std::lock_guard lock(mu_);
    for (const auto& f : families_) families.push_back(f.get());
    for (const auto& c : collectors_) collectors.push_back(c.get());
  }
  for (const auto* f : families) f->render(ex);
  for (const auto* c : collectors) (*c)(ex);
}

std::string Registry::render() const {
  std::string out;
  render(out);
  return out;
}

}  // namespace oak::metrics
