#pragma once
// Prometheus metrics without a client library: counters, gauges and histograms with labels,
// kept in a Registry and rendered in the text exposition format (version 0.0.4).
//
// Declare a component's metrics once, at start-up, and keep the references `labels()` returns:
// updating one is a single relaxed atomic operation, with no lock and no allocation. `labels()`
// itself looks the child up under the family's mutex, creating it on first use; it suits paths
// where the label values are only known late (an HTTP status code) or are rare. State that
// another object already owns (workers, instances) is better read at scrape time by a collector
// (`Registry::addCollector`) than mirrored in gauges.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oak::metrics {

enum class Type { kCounter, kGauge, kHistogram };

struct Label {
  std::string_view name;
  std::string_view value;
};

// Writes the text format: families (HELP and TYPE lines) and their samples, with names, label
// values and numbers escaped and formatted as Prometheus parses them. Collectors use it to
// render state they read at scrape time; each family must be written at once, samples after
// its `family` line.
class Exposition {
 public:
  explicit Exposition(std::string& out) : out_(out) {}
  void family(std::string_view name, std::string_view help, Type type);
  // `name` is the family's name, or with a suffix for histograms (_bucket, _sum, _count).
  void sample(std::string_view name, std::span<const Label> labels, double value);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  void sample(std::string_view name, double value) { sample(name, {}, value); }

 private:
  std::string& out_;
};

// Text-format helpers (exposed for tests).
void appendNumber(std::string& out, double v);                  // 3, 0.25, +Inf, -Inf, NaN
void appendEscapedHelp(std::string& out, std::string_view s);   // \ and newline escaped
void appendEscapedLabel(std::string& out, std::string_view s);  // also ", and bad UTF-8 replaced
bool validMetricName(std::string_view name);
bool validLabelName(std::string_view name);

class Counter {
 public:
  // Negative and NaN increments are ignored: a counter only goes up.
  void inc(double by = 1) noexcept {
    if (by >= 0) value_.fetch_add(by, std::memory_order_relaxed);
  }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1) noexcept { value_.fetch_sub(by, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the upper bounds of the buckets, ascending and finite (the family checked them);
  // they must outlive the histogram. The +Inf bucket is implicit.
  explicit Histogram(std::span<const double> bounds);
  void observe(double v) noexcept;
  void observe(std::chrono::steady_clock::duration d) noexcept {
    observe(std::chrono::duration<double>(d).count());
  }
  // Observes the time since `start` (a steady_clock reading taken before the work).
  void observeSince(std::chrono::steady_clock::time_point start) noexcept {
    observe(std::chrono::steady_clock::now() - start);
  }

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0};
};

// Bucket bounds in seconds for request latencies: 0.5 ms to 10 s.
std::vector<double> latencyBuckets();
// Bucket bounds in seconds for slow operations (image pulls, instance starts): 0.1 s to 10 min.
std::vector<double> slowBuckets();

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return label_names_; }
  void render(Exposition& out) const;

 protected:
  struct ChildBase {
    virtual ~ChildBase() = default;
    std::vector<std::string> values;
  };
  // The child for `values` (padded or cut to the number of label names), created by `make`.
  ChildBase& find(std::span<const std::string_view> values,
                  const std::function<std::unique_ptr<ChildBase>()>& make);
  virtual void renderChild(Exposition& out, const ChildBase& child,
                           std::vector<Label>& labels) const = 0;

 private:
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<ChildBase>> children_;  // by joined values: sorted output
};

template <class T>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        bounds_(std::move(bounds)) {}

  // The child for these label values, in the order of the label names. The reference stays
  // valid for the life of the registry.
  T& labels(std::span<const std::string_view> values) {
    auto& child = find(values, [this] { return std::make_unique<Child>(bounds_); });
    return static_cast<Child&>(child).metric;
  }
  T& labels(std::initializer_list<std::string_view> values) {
    return labels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  // The one child of a family without labels.
  T& get() { return labels(std::span<const std::string_view>{}); }

 private:
  struct Child final : ChildBase {
    explicit Child(const std::vector<double>& bounds);
    T metric;
  };
  void renderChild(Exposition& out, const ChildBase& child,
                   std::vector<Label>& labels) const override;

  std::vector<double> bounds_;  // histograms only
};

class Registry {
 public:
  using Collector = std::function<void(Exposition&)>;

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Declares a family (or returns the one declared before under this name with the same type
  // and labels). A bad name, or a clash with another type or label set, is a programming error:
  // it is logged and the process aborts, so it shows in the first test that declares it.
  // Counter names end in `_total`.
  Family<Counter>& counter(std::string name, std::string help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {});
  // `bounds`: ascending, finite upper bounds of the buckets.
  Family<Histogram>& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names, std::vector<double> bounds);

  // Runs at every render, after the declared families, on the rendering thread (in a daemon:
  // its event loop, so it may read the loop's state). It writes whole families of names that
  // are not declared here.
  void addCollector(Collector collector);

  // The text exposition of everything; appended to `out`.
  void render(std::string& out) const;
  std::string render() const;

 private:
  template <class T>
  Family<T>& declare(std::string name, std::string help, Type type,
                     std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;   // in declaration order
  std::vector<std::unique_ptr<Collector>> collectors_;  // stable while rendering
};

// The content type of the text format.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace oak::metrics
