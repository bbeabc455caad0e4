// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel series and the fixing commits a package's changelog carries.
#include <gtest/gtest.h>

#include "diorace/distro.hpp"

using namespace diorace;

TEST(Distro, SeriesNamesParseAndMatchTheirPackagesOnly) {
  auto s = parse_kernel_series("debian:6.1-cloud-amd64");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->series, "6.1");
  EXPECT_EQ(s->flavour, "cloud-amd64");
  EXPECT_EQ(s->spec(), "debian:6.1-cloud-amd64");
  EXPECT_TRUE(package_in_series("linux-image-6.1.0-57-cloud-amd64-unsigned", *s));
  EXPECT_FALSE(package_in_series("linux-image-6.1.0-57-amd64-unsigned", *s));       // another flavour
  EXPECT_FALSE(package_in_series("linux-image-6.12.118+deb12-cloud-amd64-unsigned", *s));  // 6.12 is not 6.1
  EXPECT_FALSE(package_in_series("linux-image-6.1.0-57-cloud-amd64-dbg", *s));
  auto t = parse_kernel_series("debian:6.12-amd64");
  ASSERT_TRUE(t);
  EXPECT_TRUE(package_in_series("linux-image-6.12.118+deb12-amd64-unsigned", *t));
  EXPECT_FALSE(package_in_series("linux-image-6.12.118+deb12-cloud-amd64-unsigned", *t));
  EXPECT_FALSE(package_in_series("linux-image-6.12.118+deb12-rt-amd64-unsigned", *t));
  for (const char* bad : {"linux-image-6.1.0-57-cloud-amd64-unsigned", "debian:6.1", "debian:six-amd64",
                          "debug:linux-6.1.192-kcsan-lockdep", "debian:6.1-", "/boot/vmlinuz"})
    EXPECT_FALSE(parse_kernel_series(bad)) << bad;
}

TEST(Distro, UpstreamVersionsCompareInReleaseOrder) {
  EXPECT_EQ(upstream_of("6.1.192-3"), "6.1.192");
  EXPECT_EQ(upstream_of("6.12.118-1~deb12u1"), "6.12.118");
  EXPECT_EQ(upstream_of("1:6.1.2-1"), "6.1.2");
  EXPECT_LT(compare_upstream("6.1.192", "v6.7"), 0);
  EXPECT_GT(compare_upstream("6.12.7", "6.1.192"), 0);
  EXPECT_GE(compare_upstream("6.12.118", "v6.12"), 0);
  EXPECT_EQ(compare_upstream("v6.3", "6.3.0"), 0);
  EXPECT_LT(compare_upstream("6.12.118", "v6.16"), 0);
}

TEST(Distro, TheChangelogDecidesWhatAPackageCarries) {
  const std::vector<Commit> ext4 = {
      {"ce56d21355cd6f6937aca32f1f44ca749d1e4808", "ext4: fix racy may inline data check in dio write", "v6.7"}};
  const std::string listed = "linux (6.6.3-1) unstable\n  * New upstream stable update:\n"
                             "    - ext4: fix racy may inline data check in dio write\n";
  auto f = check_fixes(listed, "6.12.118", "changelog", ext4);
  EXPECT_EQ(f.state, FixCheck::State::carried);
  EXPECT_EQ(f.text, "carries ce56d21355cd (changelog)");
  f = check_fixes("    - ext4: something else\n", "6.1.192", "changelog", ext4);
  EXPECT_EQ(f.state, FixCheck::State::lacking);
  EXPECT_EQ(f.text, "lacks ce56d21355cd (changelog)");
  // Merged upstream before the package's base: carried though never listed.
  f = check_fixes("", "6.12.118", "changelog", ext4);
  EXPECT_EQ(f.state, FixCheck::State::carried);
  EXPECT_EQ(f.text, "carries ce56d21355cd (mainline v6.7) (changelog)");
  // Two fixes, one carried: partial.
  const std::vector<Commit> two = {{std::string(40, 'a'), "fix one", "v6.3"}, {std::string(40, 'b'), "fix two", "v6.5"}};
  f = check_fixes("", "6.4.1", "x", two);
  EXPECT_EQ(f.state, FixCheck::State::partial);
  EXPECT_EQ(f.text, "carries aaaaaaaaaaaa (mainline v6.3), lacks bbbbbbbbbbbb (x)");
  EXPECT_EQ(check_fixes("anything", "6.1.1", "x", {}).state, FixCheck::State::unknown);
}

TEST(Distro, AVerdictAgainstTheChangelogIsNamed) {
  CaseResult r;
  r.verdict = Verdict::fail;
  r.kernel_fix_state = "carried";
  r.kernel_fix = "carries ce56d21355cd (changelog)";
  EXPECT_EQ(fix_disagreement(r), "FAIL, though the kernel carries ce56d21355cd (changelog)");
  r.verdict = Verdict::pass;
  EXPECT_EQ(fix_disagreement(r), "");
  r.kernel_fix_state = "lacking";
  r.kernel_fix = "lacks ce56d21355cd (changelog)";
  EXPECT_EQ(fix_disagreement(r), "PASS, though the kernel lacks ce56d21355cd (changelog)");
  r.verdict = Verdict::fail;
  EXPECT_EQ(fix_disagreement(r), "");
  r.kernel_fix_state = "partial";
  EXPECT_EQ(fix_disagreement(r), "");
}
