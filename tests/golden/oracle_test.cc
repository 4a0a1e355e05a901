// Golden tests: `r1d generate` against the reference implementation's greedy continuations and
// top-8 probabilities (../shared/testdata/oracle, written by llama.cpp).
#include <dirent.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace r1d {
namespace {

using nlohmann::json;

std::vector<std::string> OracleFiles() {
  std::vector<std::string> files;
  const std::string dir = testing::TestDataDir() + "/oracle";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 12 && name.substr(name.size() - 12) == ".oracle.json") {
        files.push_back(dir + "/" + name);
      }
    }
    ::closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Probability tolerance from the oracle README: F32/F16/BF16 0.003, quantized 0.01.
double ToleranceFor(const std::string& model) {
  for (const char* exact : {"-f32", "-f16", "-bf16", "stories260K"}) {
    if (model.find(exact) != std::string::npos) return 0.003;
  }
  return 0.01;
}

std::string JoinIds(const json& ids) {
  std::string s;
  for (const auto& id : ids) s += (s.empty() ? "" : ",") + std::to_string(id.get<int>());
  return s;
}

void CheckModel(const std::string& oracle_path) {
  const json oracle = json::parse(testing::ReadFile(oracle_path));
  const std::string model_name = oracle["model"];
  const std::string model = testing::FindTestModel(model_name);
  ASSERT_FALSE(model.empty()) << model_name << " not found (run scripts/make-test-models.sh)";
  const double tol = ToleranceFor(model_name);
  for (const auto& c : oracle["cases"]) {
    SCOPED_TRACE(model_name + " case " + c["name"].get<std::string>());
    const int n = static_cast<int>(c["generated_tokens"].size());
    auto r =
        testing::RunR1d("generate -m " + model + " --prompt-ids " + JoinIds(c["prompt_tokens"]) +
                        " -n " + std::to_string(n) + " --temp 0 --n-probs 8 --json -t 2 --ctx " +
                        std::to_string(oracle["n_ctx"].get<int>()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string last_line = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
    const json got = json::parse(last_line);
    EXPECT_EQ(got["prompt_tokens"], c["prompt_tokens"]);
    ASSERT_EQ(got["generated_tokens"], c["generated_tokens"]);
    ASSERT_EQ(got["top_probs"].size(), c["top_probs"].size());
    double worst = 0;
    for (size_t step = 0; step < c["top_probs"].size(); ++step) {
      const json& want = c["top_probs"][step];
      const json& have = got["top_probs"][step];
      ASSERT_EQ(have.size(), 8u);
      for (const auto& entry : want) {
        const int id = entry[0];
        const double p = entry[1];
        double ours = -1;
        for (const auto& h : have) {
          if (h[0].get<int>() == id) ours = h[1];
        }
        if (ours < 0) {
          // Not in our top 8: only acceptable when its probability is below ours' 8th.
          EXPECT_LT(p, have[7][1].get<double>() + tol) << "step " << step << " id " << id;
          continue;
        }
        worst = std::max(worst, std::fabs(ours - p));
        EXPECT_NEAR(ours, p, tol) << "step " << step << " id " << id;
      }
    }
    std::printf("  %s %s: max |dp| = %.2e (tolerance %.0e)\n", model_name.c_str(),
                c["name"].get<std::string>().c_str(), worst, tol);
  }
}

class Oracle : public ::testing::TestWithParam<std::string> {};

TEST_P(Oracle, MatchesTheReference) {
  R1D_REQUIRE_TESTDATA();
  const std::string path = testing::TestDataDir() + "/oracle/" + GetParam() + ".oracle.json";
  CheckModel(path);
}

std::vector<std::string> OracleNames() {
  std::vector<std::string> names;
  for (const auto& f : OracleFiles()) {
    const std::string base = f.substr(f.rfind('/') + 1);
    names.push_back(base.substr(0, base.size() - 12));
  }
  if (names.empty()) names.push_back("no-testdata");
  return names;
}

std::string SafeName(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Models, Oracle, ::testing::ValuesIn(OracleNames()), SafeName);

}  // namespace
}  // namespace r1d
