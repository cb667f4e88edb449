#include "store/store.h"

#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::store {

absl::StatusOr<EnrolmentToken> ConsumeEnrolmentToken(WriteTx& tx, std::string_view sha256,
                                                     std::string_view agent, absl::Time now) {
  GPUFLEET_ASSIGN_OR_RETURN(EnrolmentToken token, tx.GetEnrolmentToken(sha256));
  if (token.used_at) {
    return absl::FailedPreconditionError(
        StrCat("store: enrolment token ", QuoteForMessage(token.name), " was already used by ",
               QuoteForMessage(token.used_by)));
  }
  if (now >= token.expires_at) {
    return absl::FailedPreconditionError(
        StrCat("store: enrolment token ", QuoteForMessage(token.name), " expired at ",
               absl::FormatTime(absl::RFC3339_sec, token.expires_at, absl::UTCTimeZone())));
  }
  token.used_at = now;
  token.used_by = std::string(agent);
  // The update checks the version read above, so of two racing callers only one succeeds.
  GPUFLEET_RETURN_IF_ERROR(tx.UpdateEnrolmentToken(token));
  return token;
}

}  // namespace gpufleet::store
