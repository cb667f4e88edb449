// TLS: a self-signed certificate made here with the OpenSSL API; cpp-httplib verifies it
// against the same file as its CA.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "api/http_server.h"
#include "api/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace gpufleet::api {
namespace {

using ::testing::HasSubstr;
using testing::TestServer;

struct Files {
  std::string cert;
  std::string key;
};

bool AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool WritePem(const std::string& path, EVP_PKEY* key, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  bool ok = key != nullptr
                ? PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1
                : PEM_write_X509(f, cert) == 1;
  std::fclose(f);
  return ok;
}

// An EC P-256 key and a self-signed certificate for 127.0.0.1, valid for a day.
std::optional<Files> MakeSelfSigned(const std::string& dir) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert) return std::nullopt;
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("gpufleet test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (!AddExtension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1") ||
      !AddExtension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign")) {
    return std::nullopt;
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return std::nullopt;
  Files files{.cert = dir + "/cert.pem", .key = dir + "/key.pem"};
  if (!WritePem(files.cert, nullptr, cert.get()) || !WritePem(files.key, key.get(), nullptr)) {
    return std::nullopt;
  }
  return files;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "gpufleet_tls_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    std::optional<Files> files = MakeSelfSigned(dir_);
    ASSERT_TRUE(files.has_value());
    files_ = *files;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ServerOptions TlsOptions() {
    ServerOptions o = testing::TestOptions();
    o.tls = api::TlsOptions{.cert_file = files_.cert, .key_file = files_.key};
    return o;
  }
  static Router Routes() {
    Router r;
    EXPECT_TRUE(r.Add("GET", "/api/v1/whoami", Access::Viewer(), [](const Request& req) {
                   return Response::Text(req.principal->name);
                 }).ok());
    return r;
  }

  std::string dir_;
  Files files_;
};

TEST_F(TlsTest, ClientVerifiesTheCertificateByCaFile) {
  TestServer ts;
  ASSERT_TRUE(ts.Start(Routes(), TlsOptions()).ok());
  httplib::SSLClient c("127.0.0.1", ts.port());
  c.set_ca_cert_path(files_.cert.c_str());
  c.enable_server_certificate_verification(true);
  auto r = c.Get("/api/v1/whoami", {{"Authorization", "Bearer viewer-token"}});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "vera");
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

TEST_F(TlsTest, UntrustedClientFailsVerification) {
  TestServer ts;
  ASSERT_TRUE(ts.Start(Routes(), TlsOptions()).ok());
  httplib::SSLClient c("127.0.0.1", ts.port());
  c.set_ca_cert_path((dir_ + "/missing.pem").c_str());
  c.enable_server_certificate_verification(true);
  EXPECT_FALSE(c.Get("/healthz"));
}

TEST_F(TlsTest, PlainHttpToTlsPortGetsNoResponse) {
  TestServer ts;
  ASSERT_TRUE(ts.Start(Routes(), TlsOptions()).ok());
  httplib::Client c("127.0.0.1", ts.port());
  c.set_read_timeout(5, 0);
  auto r = c.Get("/healthz");
  EXPECT_TRUE(!r || r->status != 200);
}

TEST_F(TlsTest, NonLoopbackNeedsAuthToo) {
  TestServer ts;
  ServerOptions o = TlsOptions();
  o.listen = "0.0.0.0:0";
  EXPECT_EQ(ts.Start(Routes(), o, /*with_auth=*/false).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TlsTest, BadKeyFileIsReported) {
  TestServer ts;
  ServerOptions o = TlsOptions();
  o.tls->key_file = dir_ + "/nope.pem";
  absl::Status s = ts.Start(Routes(), o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("nope.pem"));
}

}  // namespace
}  // namespace gpufleet::api
