#include "controller/http_server.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/tls/certificates.h"
#include "controller/forward.h"
#include "controller/metrics.h"
#include "google/protobuf/util/json_util.h"
#include "httplib.h"

namespace hacluster::controller {
namespace {

namespace av1 = ::hacluster::agent::v1;

std::string JsonOf(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
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

void Error(httplib::Response& res, int code, const std::string& message) {
  res.status = code;
  res.set_content(absl::StrCat("{\"error\": ", JsonString(message), ", \"code\": ", code, "}\n"),
                  "application/json");
}

// The HTTP code for a failed call's status.
int HttpCodeOf(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

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

// Any chain is let through the handshake; the certificate is judged per
// request by the API's verifier, so a client gets an HTTP answer that says
// why instead of a failed handshake. The handshake still proves the client
// holds the certificate's key.
int AcceptAnyChain(int /*preverify*/, X509_STORE_CTX* /*ctx*/) { return 1; }

template <typename M>
bool ParseBody(const httplib::Request& req, httplib::Response& res, M* out) {
  if (req.body.empty()) return true;
  google::protobuf::util::JsonParseOptions o;
  auto s = google::protobuf::util::JsonStringToMessage(req.body, out, o);
  if (!s.ok()) {
    Error(res, 400, absl::StrCat("the body is not a valid ", out->GetTypeName(), " in JSON: ",
                                 std::string(s.message())));
    return false;
  }
  return true;
}

}  // namespace

HttpServer::HttpServer(const Fleet& fleet, agent::Logger& logger)
    : fleet_(fleet), logger_(logger) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start(const HttpOptions& options) {
  absl::StatusOr<agent::tls::TlsFiles> files = agent::tls::LoadTlsFiles(
      options.tls_cert, options.tls_key, options.tls_client_ca, absl::Now());
  if (!files.ok()) return files.status();
  absl::StatusOr<std::shared_ptr<const agent::CertVerifier>> verifier =
      agent::CertVerifierForCa(files->ca_pem);
  if (!verifier.ok()) return verifier.status();
  verifier_ = *std::move(verifier);

  const HttpOptions o = options;
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
    static constexpr unsigned char kSessionContext[] = "ha-controller";
    SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof(kSessionContext) - 1);
    return true;
  });
  if (!server_->is_valid()) {
    return absl::FailedPreconditionError(
        problem.empty() ? "cannot set up TLS for the HTTPS listener" : problem);
  }
  const int threads = o.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(kMaxBodyBytes);
  server_->set_keep_alive_max_count(1000000);
  // Answers are small: without this, Nagle and delayed ACKs add 40 ms to each.
  server_->set_tcp_nodelay(true);
  server_->set_read_timeout(30, 0);

  // Every request: a client certificate the API would accept; writes need
  // admin. The identity travels to the handlers in a header of the request.
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::string pem = PeerPem(req.ssl);
    if (pem.empty()) {
      Error(res, 401, "a client certificate of the cluster CA is required");
      return httplib::Server::HandlerResponse::Handled;
    }
    absl::StatusOr<agent::CertIdentity> id = (*verifier_)(pem, absl::Now());
    if (!id.ok()) {
      Error(res, 403, std::string(id.status().message()));
      logger_.Warn(absl::StrCat("HTTP ", req.method, " ", req.path, " refused: ",
                                id.status().message()));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && id->role != agent::ApiRole::kAdmin) {
      Error(res, 403, absl::StrCat(id->subject, " is a reader: ", req.method, " ", req.path,
                                   " needs an admin certificate"));
      logger_.Warn(absl::StrCat("HTTP ", req.method, " ", req.path, " by ", id->subject,
                                " refused: not admin"));
      return httplib::Server::HandlerResponse::Handled;
    }
    // The identity for the handlers; whatever the client sent under these
    // names is dropped first.
    auto& mutable_req = const_cast<httplib::Request&>(req);
    mutable_req.headers.erase("X-Ha-Caller");
    mutable_req.headers.erase("X-Ha-Role");
    mutable_req.set_header("X-Ha-Caller", id->subject);
    mutable_req.set_header("X-Ha-Role", id->role == agent::ApiRole::kAdmin ? "admin" : "reader");
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors httplib answers itself (404, 413, 405...) get a JSON body too.
  server_->set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message;
    switch (res.status) {
      case 404:
        message = absl::StrCat("no such path: ", req.path);
        break;
      case 413:
        message = absl::StrCat("the body is over ", kMaxBodyBytes, " bytes");
        break;
      case 405:
        message = absl::StrCat(req.method, " is not allowed on ", req.path);
        break;
      default:
        message = absl::StrCat("HTTP ", res.status);
    }
    Error(res, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
  }));

  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' "
                   "'unsafe-inline'");
    res.set_content(kDashboardHtml, "text/html; charset=utf-8");
  });
  server_->Get("/v1/whoami", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(absl::StrCat("{\"subject\": ", JsonString(req.get_header_value("X-Ha-Caller")),
                                 ", \"role\": ", JsonString(req.get_header_value("X-Ha-Role")),
                                 "}\n"),
                    "application/json");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    MetricsWriter w;
    const Catalog& catalog = fleet_.catalog();
    std::vector<std::shared_ptr<const v1::ClusterStatus>> all = fleet_.Statuses();
    for (size_t i = 0; i < all.size(); ++i) {
      w.AddClusterDrift(catalog.clusters[i].name, all[i]->config_drift());
      for (const v1::NodeView& v : all[i]->nodes()) {
        w.AddReachable(catalog.clusters[i].name, v.node(), v.reachable());
        if (v.reachable()) w.AddAgentStatus(catalog.clusters[i].name, v.status());
      }
    }
    res.set_content(w.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/v1/clusters", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(JsonOf(fleet_.ListClusters()), "application/json");
  });
  server_->Get(R"(/v1/clusters/([^/]+)/status)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 std::shared_ptr<const v1::ClusterStatus> st = fleet_.Status(req.matches[1]);
                 if (st == nullptr) return Error(res, 404, absl::StrCat("no cluster ", std::string(req.matches[1])));
                 res.set_content(JsonOf(*st), "application/json");
               });
  server_->Get(R"(/v1/clusters/([^/]+)/servers)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 absl::StatusOr<v1::ClusterServersResponse> r = fleet_.ListServers(req.matches[1]);
                 if (!r.ok()) return Error(res, HttpCodeOf(r.status()), std::string(r.status().message()));
                 res.set_content(JsonOf(*r), "application/json");
               });
  server_->Get(R"(/v1/where/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<v1::WhereResponse> r =
        fleet_.Where(req.matches[1], req.get_param_value("cluster"));
    if (!r.ok()) return Error(res, HttpCodeOf(r.status()), std::string(r.status().message()));
    res.set_content(JsonOf(*r), "application/json");
  });
  server_->Get("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    uint64_t cursor = 0;
    const std::string last = req.get_header_value("Last-Event-ID");
    if (!last.empty() && !absl::SimpleAtoi(last, &cursor)) {
      return Error(res, 400, "Last-Event-ID is not a number");
    }
    const std::string cluster = req.get_param_value("cluster");
    if (!cluster.empty() && fleet_.catalog().Find(cluster) == nullptr) {
      return Error(res, 404, absl::StrCat("no cluster ", cluster));
    }
    res.set_header("Cache-Control", "no-store");
    auto state = std::make_shared<uint64_t>(cursor);
    res.set_chunked_content_provider(
        "text/event-stream", [this, state, cluster](size_t, httplib::DataSink& sink) {
          std::vector<v1::ClusterEvent> batch;
          if (!fleet_.NextEvents(state.get(), cluster, absl::Seconds(10), &batch)) {
            sink.done();
            return true;
          }
          std::string out;
          for (const v1::ClusterEvent& e : batch) {
            absl::StrAppend(&out, "id: ", e.id(), "\nevent: cluster-event\ndata: ", JsonOf(e),
                            "\n\n");
          }
          // A comment keeps the connection alive and finds a gone client.
          if (out.empty()) out = ": keep-alive\n\n";
          return sink.write(out.data(), out.size());
        });
  });

  auto write = [this](const httplib::Request& req, httplib::Response& res, const std::string& call,
                      const absl::StatusOr<av1::OperationResponse>& r) {
    const std::string who = req.get_header_value("X-Ha-Caller");
    if (!r.ok()) {
      logger_.Info(absl::StrCat("HTTP ", call, " by ", who, ": failed: ", r.status().message()));
      return Error(res, HttpCodeOf(r.status()), std::string(r.status().message()));
    }
    logger_.Info(absl::StrCat("HTTP ", call, " by ", who, ": ", r->message()));
    res.set_content(JsonOf(*r), "application/json");
  };
  server_->Post(R"(/v1/clusters/([^/]+)/nodes/([^/]+)/standby)",
                [this, write](const httplib::Request& req, httplib::Response& res) {
                  v1::NodeStandbyRequest r;
                  r.set_cluster(req.matches[1]);
                  r.set_node(req.matches[2]);
                  if (!ParseBody(req, res, r.mutable_request())) return;
                  write(req, res, absl::StrCat("standby ", r.cluster(), "/", r.node()),
                        ForwardStandby(fleet_, r));
                });
  server_->Post(R"(/v1/clusters/([^/]+)/nodes/([^/]+)/takeover)",
                [this, write](const httplib::Request& req, httplib::Response& res) {
                  v1::NodeTakeoverRequest r;
                  r.set_cluster(req.matches[1]);
                  r.set_node(req.matches[2]);
                  if (!ParseBody(req, res, r.mutable_request())) return;
                  write(req, res, absl::StrCat("takeover ", r.cluster(), "/", r.node()),
                        ForwardTakeover(fleet_, r));
                });
  server_->Post(R"(/v1/clusters/([^/]+)/move)",
                [this, write](const httplib::Request& req, httplib::Response& res) {
                  v1::ClusterMoveRequest r;
                  r.set_cluster(req.matches[1]);
                  if (!ParseBody(req, res, r.mutable_request())) return;
                  write(req, res,
                        absl::StrCat("move ", r.cluster(), " ", r.request().group(), " to ",
                                     r.request().node()),
                        ForwardMove(fleet_, r));
                });

  if (o.port == 0) {
    port_ = server_->bind_to_any_port(o.host);
    if (port_ <= 0) {
      return absl::FailedPreconditionError(absl::StrCat("cannot listen on ", o.host, ":0"));
    }
  } else {
    if (!server_->bind_to_port(o.host, o.port)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--listen: cannot listen on ", o.host, ":", o.port, " (address not on this host, or "
          "the port in use?)"));
    }
    port_ = o.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hacluster::controller
