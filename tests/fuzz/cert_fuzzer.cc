// libFuzzer target: a client certificate as the agent's API receives it
// (the PEM gRPC reports for a TLS peer), read by ParseCertificatePem and
// checked by ClientCertVerifier against a cluster CA. Properties: no input
// crashes either; what the verifier accepts parses, carries a role, and is
// accepted again from the cache; the input also goes through DER-to-PEM
// wrapping so the fuzzer reaches the X.509 parser with binary data.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/tls/certificates.h"
#include "agent/tls/issuer.h"

namespace {

using hacluster::agent::tls::ClientCertVerifier;

const ClientCertVerifier& Verifier() {
  static const ClientCertVerifier* verifier = [] {
    const absl::Time t = absl::FromUnixSeconds(1800000000);
    auto ca = hacluster::agent::tls::MakeCa("fuzz", t - absl::Hours(24 * 365),
                                            t + absl::Hours(24 * 365));
    if (!ca.ok()) __builtin_trap();
    auto v = ClientCertVerifier::Create(ca->cert_pem, 64);
    if (!v.ok()) __builtin_trap();
    return v->release();
  }();
  return *verifier;
}

void Check(const std::string& pem) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  (void)hacluster::agent::tls::ParseCertificatePem(pem);
  auto first = Verifier().Verify(pem, now);
  if (!first.ok()) {
    if (first.status().message().empty()) __builtin_trap();
    return;
  }
  if (!first->role.has_value()) __builtin_trap();
  auto again = Verifier().Verify(pem, now);
  if (!again.ok() || again->subject != first->subject) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  Check(raw);
  Check(absl::StrCat("-----BEGIN CERTIFICATE-----\n", absl::Base64Escape(raw),
                     "\n-----END CERTIFICATE-----\n"));
  return 0;
}
