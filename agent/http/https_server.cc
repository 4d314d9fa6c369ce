#include "agent/http/https_server.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/tls/certificates.h"

namespace hacluster::agent {
namespace {

// The client certificate of the connection as PEM; empty when none.
std::string PeerPem(const SSL* ssl) {
  if (ssl == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  std::string out;
  if (bio != nullptr && PEM_write_bio_X509(bio, cert) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  X509_free(cert);
  return out;
}

// Any chain passes the handshake; the request is judged by the verifier.
int AcceptAnyChain(int /*preverify*/, X509_STORE_CTX* /*ctx*/) { return 1; }

}  // namespace

bool ParseHostPort(const std::string& text, HttpsOptions* options) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port < 1 || port > 65535) return false;
  options->host = host.empty() ? "0.0.0.0" : host;
  options->port = port;
  return true;
}

std::string JoinHostPort(const std::string& host, int port) {
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void JsonError(httplib::Response& res, int code, const std::string& message) {
  res.status = code;
  res.set_content(absl::StrCat("{\"error\": ", JsonString(message), ", \"code\": ", code, "}\n"),
                  "application/json");
}

HttpsServer::~HttpsServer() { Stop(); }

absl::Status HttpsServer::Init(const HttpsOptions& options) {
  options_ = options;
  absl::StatusOr<tls::TlsFiles> files =
      tls::LoadTlsFiles(options.tls_cert, options.tls_key, options.tls_client_ca, absl::Now());
  if (!files.ok()) return files.status();
  absl::StatusOr<std::shared_ptr<const CertVerifier>> verifier = CertVerifierForCa(files->ca_pem);
  if (!verifier.ok()) return verifier.status();
  verifier_ = *std::move(verifier);

  const HttpsOptions o = options;
  std::string problem;
  server_ = std::make_unique<httplib::SSLServer>([o, &problem](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(&ctx, o.tls_cert.c_str()) != 1) {
      problem = absl::StrCat("cannot use the certificate ", o.tls_cert);
      return false;
    }
    if (SSL_CTX_use_PrivateKey_file(&ctx, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(&ctx) != 1) {
      problem = absl::StrCat("cannot use the key ", o.tls_key);
      return false;
    }
    // Browsers offer the certificates this CA list names.
    STACK_OF(X509_NAME)* cas = SSL_load_client_CA_file(o.tls_client_ca.c_str());
    if (cas == nullptr) {
      problem = absl::StrCat("cannot read the client CA ", o.tls_client_ca);
      return false;
    }
    SSL_CTX_set_client_CA_list(&ctx, cas);
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, AcceptAnyChain);
    // Resumed sessions carry the client's certificate; OpenSSL refuses to
    // resume a session of a server that asks for one without a context.
    static constexpr unsigned char kSessionContext[] = "hacluster-https";
    SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof(kSessionContext) - 1);
    return true;
  });
  if (!server_->is_valid()) {
    return absl::FailedPreconditionError(problem.empty() ? "cannot set up TLS" : problem);
  }
  const int threads = o.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(o.max_body);
  server_->set_keep_alive_max_count(1000000);
  // Answers are small: without this, Nagle and delayed ACKs add 40 ms to each.
  server_->set_tcp_nodelay(true);
  // A connection that says nothing gives its thread back soon.
  server_->set_read_timeout(5, 0);
  server_->set_keep_alive_timeout(5);
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::string pem = PeerPem(req.ssl);
    if (pem.empty()) {
      JsonError(res, 401, "a client certificate of the cluster CA is required");
      return httplib::Server::HandlerResponse::Handled;
    }
    absl::StatusOr<CertIdentity> id = (*verifier_)(pem, absl::Now());
    if (!id.ok()) {
      JsonError(res, 403, std::string(id.status().message()));
      return httplib::Server::HandlerResponse::Handled;
    }
    auto& mutable_req = const_cast<httplib::Request&>(req);
    mutable_req.headers.erase("X-Ha-Caller");
    mutable_req.headers.erase("X-Ha-Role");
    mutable_req.set_header("X-Ha-Caller", id->subject);
    mutable_req.set_header("X-Ha-Role", id->role == ApiRole::kAdmin ? "admin" : "reader");
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors httplib answers itself (404, 413...) get a JSON body too.
  server_->set_error_handler(httplib::Server::HandlerWithResponse(
      [max = o.max_body](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message;
        switch (res.status) {
          case 404:
            message = absl::StrCat("no such path: ", req.path);
            break;
          case 413:
            message = absl::StrCat("the body is over ", max, " bytes");
            break;
          default:
            message = absl::StrCat("HTTP ", res.status);
        }
        JsonError(res, res.status, message);
        return httplib::Server::HandlerResponse::Handled;
      }));
  return absl::OkStatus();
}

absl::Status HttpsServer::Listen() {
  const std::string where = JoinHostPort(options_.host, options_.port);
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ <= 0) return absl::FailedPreconditionError(absl::StrCat("cannot listen on ", where));
  } else {
    if (!server_->bind_to_port(options_.host, options_.port)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot listen on ", where, " (address not on this host, or the port in use?)"));
    }
    port_ = options_.port;
  }
  thread_ = std::thread([this] {
    // Never at a realtime caller's priority: the serving threads inherit it.
    sched_param param{};
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
    server_->listen_after_bind();
  });
  // Stop() only works once the server runs: wait for it (bounded).
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    return absl::InternalError(absl::StrCat("the listener on ", where, " did not start"));
  }
  return absl::OkStatus();
}

void HttpsServer::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hacluster::agent
