#ifndef GPUFLEET_API_BEAST_ADAPTER_H_
#define GPUFLEET_API_BEAST_ADAPTER_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "boost/system/error_code.hpp"

namespace gpufleet::api::internal {

// The one place Beast / Asio / OpenSSL error codes are interpreted. Internal to src/api.

enum class IoOutcome {
  kOk,
  kClosed,          // the peer closed or reset the connection, or we cancelled the operation
  kTimeout,         // a deadline of the stream passed
  kHeaderTooLarge,  // the request header exceeded its limit (431)
  kBodyTooLarge,    // the request body exceeded its limit (413)
  kMalformed,       // not a valid HTTP/1.x request (400)
  kOther,           // anything else: log and close
};

[[nodiscard]] IoOutcome ClassifyIo(const boost::system::error_code& ec);

// Unavailable / InvalidArgument / Internal naming `what` and the error's message.
[[nodiscard]] absl::Status ToStatus(const boost::system::error_code& ec, std::string_view what);

// "category: message" for logs.
[[nodiscard]] std::string Describe(const boost::system::error_code& ec);

}  // namespace gpufleet::api::internal

#endif  // GPUFLEET_API_BEAST_ADAPTER_H_
