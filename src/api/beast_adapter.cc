#include "api/beast_adapter.h"

#include "boost/asio/error.hpp"
#include "boost/asio/ssl/error.hpp"
#include "boost/beast/core/error.hpp"
#include "boost/beast/http/error.hpp"
#include "common/strings.h"

namespace gpufleet::api::internal {

namespace http = boost::beast::http;
namespace asio = boost::asio;

IoOutcome ClassifyIo(const boost::system::error_code& ec) {
  if (!ec) return IoOutcome::kOk;
  if (ec == boost::beast::error::timeout) return IoOutcome::kTimeout;
  if (ec == http::error::header_limit) return IoOutcome::kHeaderTooLarge;
  if (ec == http::error::body_limit) return IoOutcome::kBodyTooLarge;
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
      ec == asio::error::operation_aborted || ec == asio::error::broken_pipe ||
      ec == asio::error::not_connected || ec == asio::error::bad_descriptor ||
      ec == asio::ssl::error::stream_truncated || ec == http::error::partial_message) {
    return IoOutcome::kClosed;
  }
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
    return IoOutcome::kMalformed;
  }
  return IoOutcome::kOther;
}

absl::Status ToStatus(const boost::system::error_code& ec, std::string_view what) {
  if (!ec) return absl::OkStatus();
  std::string message = StrCat(what, ": ", ec.message());
  if (ec.category() == asio::error::get_ssl_category()) {
    return absl::InvalidArgumentError(message);
  }
  return absl::UnavailableError(message);
}

std::string Describe(const boost::system::error_code& ec) {
  return StrCat(ec.category().name(), ": ", ec.message());
}

}  // namespace gpufleet::api::internal
