// SPDX-License-Identifier: GPL-2.0-or-later
// fmt's compiled part for the fully static guest binary. Debian ships fmt as
// headers and libfmt.so, no static archive; the program and the tests link
// libfmt.so, and this file gives diorace-static the same functions, compiled
// once from Debian's own fmt/format-inl.h instead of in every file that
// formats (fmt's header-only mode).
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {
// The templates format.h declares `extern template`: instantiated here once.
template auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl<char>(locale_ref) -> char;
}  // namespace detail
FMT_END_NAMESPACE
