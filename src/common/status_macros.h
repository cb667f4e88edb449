#ifndef GPUFLEET_COMMON_STATUS_MACROS_H_
#define GPUFLEET_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Propagates a non-OK absl::Status from the enclosing function.
#define GPUFLEET_RETURN_IF_ERROR(expr)                                      \
  do {                                                                      \
    if (::absl::Status gpufleet_status_ = (expr); !gpufleet_status_.ok()) { \
      return gpufleet_status_;                                              \
    }                                                                       \
  } while (false)

#define GPUFLEET_STATUS_CONCAT_INNER_(a, b) a##b
#define GPUFLEET_STATUS_CONCAT_(a, b) GPUFLEET_STATUS_CONCAT_INNER_(a, b)

// `GPUFLEET_ASSIGN_OR_RETURN(auto x, Foo());` declares x from an absl::StatusOr, or returns its
// error from the enclosing function.
#define GPUFLEET_ASSIGN_OR_RETURN(lhs, expr) \
  GPUFLEET_ASSIGN_OR_RETURN_IMPL_(GPUFLEET_STATUS_CONCAT_(gpufleet_statusor_, __LINE__), lhs, expr)

#define GPUFLEET_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) {                                      \
    return std::move(statusor).status();                     \
  }                                                          \
  lhs = *std::move(statusor)

#endif  // GPUFLEET_COMMON_STATUS_MACROS_H_
