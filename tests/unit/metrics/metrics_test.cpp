#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.h"
#include "promtool.h"

namespace oak::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string number(double v) {
  std::string s;
  appendNumber(s, v);
  return s;
}

std::string label(std::string_view v) {
  std::string s;
  appendEscapedLabel(s, v);
  return s;
}

TEST(MetricsFormatTest, NumbersAsPrometheusParsesThem) {
  EXPECT_EQ(number(0), "0");
  EXPECT_EQ(number(3), "3");
  EXPECT_EQ(number(-2), "-2");
  EXPECT_EQ(number(0.25), "0.25");
  EXPECT_EQ(number(1700000000.5), "1700000000.5");
  EXPECT_EQ(number(1e20), "1e+20");
  EXPECT_EQ(number(INFINITY), "+Inf");
  EXPECT_EQ(number(-INFINITY), "-Inf");
  EXPECT_EQ(number(NAN), "NaN");
}

TEST(MetricsFormatTest, LabelValuesAreEscapedAndValidUtf8) {
  EXPECT_EQ(label(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(label("line\nbreak"), "line\\nbreak");
  EXPECT_EQ(label("grüße"), "grüße");
  EXPECT_EQ(label("\xff"
                  "x"),
            "\xEF\xBF\xBDx");
  EXPECT_EQ(label("\xC3"), "\xEF\xBF\xBD");                                  // truncated sequence
  EXPECT_EQ(label("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

TEST(MetricsFormatTest, HelpEscapesBackslashAndNewlineOnly) {
  std::string s;
  appendEscapedHelp(s, "a \"quoted\" \\ text\nmore");
  EXPECT_EQ(s, R"(a "quoted" \\ text\nmore)");
}

TEST(MetricsFormatTest, Names) {
  EXPECT_TRUE(validMetricName("oakestra_http_requests_total"));
  EXPECT_TRUE(validMetricName("ns:sub_name"));
  EXPECT_FALSE(validMetricName("9lives"));
  EXPECT_FALSE(validMetricName("with-dash"));
  EXPECT_FALSE(validMetricName(""));
  EXPECT_TRUE(validLabelName("route"));
  EXPECT_FALSE(validLabelName("__reserved"));
  EXPECT_FALSE(validLabelName("a:b"));
}

TEST(MetricsTest, CounterOnlyGoesUp) {
  Registry r;
  auto& c = r.counter("things_total", "Things.").get();
  c.inc();
  c.inc(2.5);
  c.inc(-1);
  c.inc(NAN);
  EXPECT_EQ(c.value(), 3.5);
}

TEST(MetricsTest, Gauge) {
  Registry r;
  auto& g = r.gauge("level", "Level.").get();
  g.set(5);
  g.inc();
  g.dec(3);
  EXPECT_EQ(g.value(), 3);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInclusiveBounds) {
  Registry r;
  auto& h = r.histogram("wait_seconds", "Waits.", {}, {0.1, 1, 10}).get();
  for (double v : {0.05, 0.1, 0.5, 1.0, 20.0}) h.observe(v);
  h.observe(NAN);  // ignored
  auto s = h.snapshot();
  EXPECT_THAT(s.cumulative, ::testing::ElementsAre(2, 4, 4, 5));
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 21.65);
}

TEST(MetricsTest, RendersTheTextFormat) {
  Registry r;
  r.counter("jobs_total", "Jobs done, by kind.", {"kind"}).labels({"b"}).inc(2);
  r.counter("jobs_total", "Jobs done, by kind.", {"kind"}).labels({"a"}).inc();
  r.gauge("queue_length", "Queued jobs.").get().set(7);
  auto& h = r.histogram("job_duration_seconds", "Job time.", {"kind"}, {0.5, 1}).labels({"a"});
  h.observe(0.25);
  h.observe(3);
  r.addCollector([](Exposition& out) {
    out.family("workers", "Workers \\ by \"state\".\nSecond line.", Type::kGauge);
    out.sample("workers", {{"state", "lost \"x\""}}, 1);
  });
  EXPECT_EQ(r.render(),
            "# HELP jobs_total Jobs done, by kind.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total{kind=\"a\"} 1\n"
            "jobs_total{kind=\"b\"} 2\n"
            "# HELP queue_length Queued jobs.\n"
            "# TYPE queue_length gauge\n"
            "queue_length 7\n"
            "# HELP job_duration_seconds Job time.\n"
            "# TYPE job_duration_seconds histogram\n"
            "job_duration_seconds_bucket{kind=\"a\",le=\"0.5\"} 1\n"
            "job_duration_seconds_bucket{kind=\"a\",le=\"1\"} 1\n"
            "job_duration_seconds_bucket{kind=\"a\",le=\"+Inf\"} 2\n"
            "job_duration_seconds_sum{kind=\"a\"} 3.25\n"
            "job_duration_seconds_count{kind=\"a\"} 2\n"
            "# HELP workers Workers \\\\ by \"state\".\\nSecond line.\n"
            "# TYPE workers gauge\n"
            "workers{state=\"lost \\\"x\\\"\"} 1\n");
}

TEST(MetricsTest, UnlabelledSeriesExistFromTheStartLabelledOnesWhenUsed) {
  Registry r;
  r.counter("plain_total", "Plain.");
  r.counter("by_kind_total", "By kind.", {"kind"});
  std::string text = r.render();
  EXPECT_THAT(text, HasSubstr("plain_total 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("by_kind_total")));
}

TEST(MetricsTest, DeclaringAgainReturnsTheSameFamilyAndChildrenStayPut) {
  Registry r;
  auto& f = r.counter("x_total", "X.", {"k"});
  auto& a = f.labels({"a"});
  for (int i = 0; i < 1000; ++i) f.labels({std::to_string(i)});
  EXPECT_EQ(&r.counter("x_total", "X.", {"k"}), &f);
  EXPECT_EQ(&f.labels({"a"}), &a);
}

TEST(MetricsTest, WrongNumberOfLabelValuesIsPaddedNotFatal) {
  Registry r;
  auto& f = r.counter("pairs_total", "Pairs.", {"a", "b"});
  f.labels({"only"}).inc();
  f.labels({"x", "y", "z"}).inc();
  std::string text = r.render();
  EXPECT_THAT(text, HasSubstr("pairs_total{a=\"only\",b=\"\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pairs_total{a=\"x\",b=\"y\"} 1\n"));
}

TEST(MetricsDeathTest, MisuseIsFatalAtDeclaration) {
  Registry r;
  r.counter("clash_total", "Clash.");
  EXPECT_DEATH(r.gauge("clash_total", "Clash."), "declared twice");
  EXPECT_DEATH(r.counter("clash_total", "Clash.", {"extra"}), "declared twice");
  EXPECT_DEATH(r.counter("no_suffix", "Bad."), "must end in _total");
  EXPECT_DEATH(r.gauge("bad-name", "Bad."), "not a valid metric name");
  EXPECT_DEATH(r.histogram("h_seconds", "H.", {"le"}, {1}), "not a valid label name");
  EXPECT_DEATH(r.histogram("h2_seconds", "H.", {}, {2, 1}), "ascend");
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& c = r.counter("hits_total", "Hits.").get();
  auto& h = r.histogram("lat_seconds", "Latency.", {}, {0.5}).get();
  constexpr int kThreads = 4, kEach = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        c.inc();
        h.observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  // Scrapes while the updates run see consistent histograms (+Inf == count).
  for (int i = 0; i < 20; ++i) {
    auto s = h.snapshot();
    EXPECT_EQ(s.cumulative.back(), s.count);
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), kThreads * kEach);
  auto s = h.snapshot();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_EQ(s.cumulative[0], static_cast<uint64_t>(kThreads * kEach / 2));
  EXPECT_DOUBLE_EQ(s.sum, kThreads * kEach / 2 * 1.25);
}

TEST(MetricsTest, PromtoolAcceptsTheOutput) {
  Registry r;
  r.counter("oak_events_total", "Events, by source.", {"source"}).labels({"a \"b\"\\\n"}).inc();
  r.counter("oak_events_total", "Events, by source.", {"source"}).labels({"\xff\xfe"}).inc();
  r.gauge("oak_temperature_celsius", "A gauge with \\ and\nnewline in its help.").get().set(-3.5);
  auto& h = r.histogram("oak_wait_seconds", "Waits.", {"queue"}, latencyBuckets());
  h.labels({"q1"}).observe(0.003);
  h.labels({"q2"}).observe(100);
  r.addCollector([](Exposition& out) {
    out.family("oak_collected_bytes", "Collected at scrape time.", Type::kGauge);
    out.sample("oak_collected_bytes", {{"what", "x"}}, 1e12);
    out.sample("oak_collected_bytes", {{"what", "y"}}, NAN);
  });
  EXPECT_TRUE(oak::testing::promtoolAccepts(r.render()));
}

}  // namespace
}  // namespace oak::metrics
