// The two phases of an apply on this node: the spec's text is staged next
// to the agent's spec file and checked as a reload checks it; the commit
// switches to it and renames it over the spec file, so a restart or a
// SIGHUP keeps it.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/str_join.h"
#include "agent/config/yaml_codec.h"
#include "agent/node/agent_loop.h"
#include "agent/tls/certificates.h"

namespace hacluster::agent {
namespace {

// Writes `text` to `path` (mode 0600, synced); an error names the path.
absl::Status WriteSynced(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      const int err = errno;
      close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced) return absl::InternalError(absl::StrCat("cannot sync ", path));
  return absl::OkStatus();
}

}  // namespace

void AgentLoop::AnswerApply(uint64_t id, bool ok, std::string message) {
  if (id == 0) return;  // the loop's own commit (CatchUp): nobody waits
  v1::OperationResponse answer;
  answer.set_state(ok ? v1::OPERATION_STATE_DONE : v1::OPERATION_STATE_FAILED);
  answer.set_message(std::move(message));
  answer.set_config_version(config_.spec.config_version());
  ops_.Update(id, std::move(answer));
}

void AgentLoop::PrepareApply(const OperationRequest& r, MonoTime now) {
  const uint64_t running = config_.spec.config_version();
  if (pending_apply_.has_value()) {
    return AnswerApply(r.id, false,
                       absl::StrCat("refused: apply ", pending_apply_->id,
                                    " is prepared here; commit or abort it first"));
  }
  if (r.expect_version != 0 && r.expect_version != running) {
    return AnswerApply(r.id, false,
                       absl::StrCat("refused: this node runs config version ", running,
                                    ", not the expected ", r.expect_version));
  }
  const std::string staged_file = absl::StrCat(options_.config_path, ".apply-", r.id);
  absl::Status written = WriteSynced(staged_file, r.spec_yaml);
  if (!written.ok()) return AnswerApply(r.id, false, std::string(written.message()));
  auto refuse = [&](absl::string_view why) {
    unlink(staged_file.c_str());
    AnswerApply(r.id, false, absl::StrCat("refused: ", why));
  };
  auto spec = LoadSpec(staged_file, logger_);
  if (!spec.ok()) return refuse(spec.status().message());
  if (spec->config_version() != running + 1) {
    return refuse(absl::StrCat("the new spec has config version ", spec->config_version(),
                               "; this node runs ", running, ", so it must be ", running + 1));
  }
  auto staged = StageSpec(*std::move(spec));
  if (!staged.ok()) return refuse(staged.status().message());
  const absl::Duration hold = r.hold > absl::ZeroDuration()
                                  ? r.hold
                                  : std::max(config_.timing.deadtime, absl::Seconds(1));
  PendingApply p;
  p.id = r.id;
  p.staged = *std::move(staged);
  p.staged_file = staged_file;
  p.drop_at = now + hold;
  const uint64_t version = p.staged.spec.config_version();
  pending_apply_ = std::move(p);
  logger_.Info(absl::StrCat("apply ", r.id, ": config version ", version,
                            " prepared; dropped unless committed within ",
                            absl::FormatDuration(hold)));
  AnswerApply(r.id, true,
              absl::StrCat("prepared config version ", version, " as apply ", r.id,
                           "; commit or abort within ", absl::FormatDuration(hold)));
}

void AgentLoop::CommitApply(const OperationRequest& r, MonoTime now) {
  if (r.apply_id != 0 && r.apply_id == committed_by_peers_) {
    return AnswerApply(r.id, true,
                       absl::StrCat("committed config version ", config_.spec.config_version(),
                                    " (already: a peer ran it first)"));
  }
  if (!pending_apply_.has_value() || pending_apply_->id != r.apply_id) {
    return AnswerApply(r.id, false,
                       absl::StrCat("no apply ", r.apply_id,
                                    " is prepared here (never prepared, aborted, or dropped "
                                    "when its hold passed)"));
  }
  PendingApply p = *std::move(pending_apply_);
  pending_apply_.reset();
  const uint64_t version = p.staged.spec.config_version();
  MarkApplied(p.staged.spec);
  absl::Status s = SwitchTo(std::move(p.staged), absl::StrCat("applied (apply ", p.id, ")"), now);
  if (!s.ok()) {
    unlink(p.staged_file.c_str());
    Emit(v1::EVENT_KIND_CONFIG_REJECTED, "",
         absl::StrCat("apply ", p.id, " failed at commit, still running config version ",
                      config_.spec.config_version(), ": ", s.message()),
         now);
    return AnswerApply(r.id, false, absl::StrCat("commit failed: ", s.message()));
  }
  if (rename(p.staged_file.c_str(), options_.config_path.c_str()) != 0) {
    logger_.Error(absl::StrCat("apply ", p.id, ": running config version ", version,
                               " but cannot make it the spec file ", options_.config_path, ": ",
                               strerror(errno), "; a restart would go back to the old one"));
  }
  AnswerApply(r.id, true, absl::StrCat("committed config version ", version));
}

void AgentLoop::AbortApply(const OperationRequest& r, MonoTime now) {
  if (!pending_apply_.has_value() || pending_apply_->id != r.apply_id) {
    return AnswerApply(r.id, true,
                       absl::StrCat("no apply ", r.apply_id, " is prepared here: nothing to drop"));
  }
  DropApply(absl::StrCat("aborted by request ", r.id), now);
  AnswerApply(r.id, true, absl::StrCat("apply ", r.apply_id, " aborted"));
}

void AgentLoop::ExpireApply(MonoTime now) {
  if (pending_apply_.has_value() && now >= pending_apply_->drop_at) {
    DropApply("not committed within its hold", now);
  }
}

void AgentLoop::DropApply(const std::string& why, MonoTime now) {
  if (!pending_apply_.has_value()) return;
  unlink(pending_apply_->staged_file.c_str());
  Emit(v1::EVENT_KIND_CONFIG_REJECTED, "",
       absl::StrCat("apply ", pending_apply_->id, " of config version ",
                    pending_apply_->staged.spec.config_version(), " dropped (", why,
                    "); still running config version ", config_.spec.config_version()),
       now);
  pending_apply_.reset();
}

}  // namespace hacluster::agent

// ------------------------------------------------------------ catch-up

namespace hacluster::agent {

std::pair<uint64_t, std::vector<std::string>> AgentLoop::NewestPeerVersion() const {
  std::pair<uint64_t, std::vector<std::string>> out{0, {}};
  for (const auto& n : config_.spec.nodes()) {
    if (n.name() == local_node_ || membership_->StateOf(n.name()) != v1::NODE_STATE_UP) continue;
    const wire::v1::Heartbeat* hb = membership_->LastHeartbeat(n.name());
    // Only a spec that came by an apply is caught up with; a newer version
    // made by hand on one node is drift, nothing more.
    if (hb == nullptr || !hb->config_applied()) continue;
    if (hb->config_version() > out.first) out = {hb->config_version(), {}};
    if (hb->config_version() == out.first) out.second.push_back(n.name());
  }
  return out;
}

void AgentLoop::CatchUp(MonoTime now) {
  const uint64_t running = config_.spec.config_version();
  auto [newest, holders] = NewestPeerVersion();
  // A prepared apply that a live peer already runs: its commit reached
  // that peer, and whoever drove it may be gone. Commit it here too.
  if (pending_apply_.has_value()) {
    const PendingApply& p = *pending_apply_;
    const std::string staged_hash = SpecHash(p.staged.spec);
    for (const std::string& peer : holders) {
      const wire::v1::Heartbeat* hb = membership_->LastHeartbeat(peer);
      if (hb == nullptr || hb->config_version() != p.staged.spec.config_version() ||
          hb->config_hash() != staged_hash) {
        continue;
      }
      const uint64_t id = p.id;
      OperationRequest commit;
      commit.id = 0;
      commit.apply_id = id;
      logger_.Info(absl::StrCat("apply ", id, ": ", peer, " already runs config version ",
                                newest, "; committing it here too"));
      const uint64_t staged_version = p.staged.spec.config_version();
      CommitApply(commit, now);
      // A later CommitApply of the same apply (its client, late) is then
      // answered as done; not when the switch failed here.
      if (config_.spec.config_version() == staged_version) committed_by_peers_ = id;
      return;
    }
  }
  if (newest <= running) {
    if (catch_up_.has_value()) {
      Emit(v1::EVENT_KIND_CONFIG_DRIFT, "",
           absl::StrCat("caught up: this node runs config version ", running,
                        " like its peers; groups may start here again"),
           now);
      catch_up_.reset();
      groups_dirty_ = true;
    }
    (void)fetcher_.Take();  // a fetch that finished after all is not used
    return;
  }
  if (pending_apply_.has_value() && pending_apply_->staged.spec.config_version() == newest) {
    return;  // its commit is on the way (or the evidence above will come)
  }
  if (!catch_up_.has_value() || catch_up_->version != newest) {
    catch_up_ = CatchUpState{newest, "", now};
    catch_up_->reason = absl::StrCat(
        "catching up: ", absl::StrJoin(holders, ", "), " run", holders.size() == 1 ? "s" : "",
        " config version ", newest, ", this node ", running,
        "; no group is started here until it has that spec");
    Emit(v1::EVENT_KIND_CONFIG_DRIFT, "", catch_up_->reason, now);
    groups_dirty_ = true;
  }
  if (std::optional<SpecFetcher::Result> r = fetcher_.Take()) {
    // Only the version wanted now, and never one older than this node's.
    if (r->ok && (r->version != newest || r->version <= running)) return;
    absl::Status s = r->ok ? TakeFetchedSpec(*r, now)
                           : absl::UnavailableError(absl::StrCat("cannot fetch it: ", r->error));
    if (s.ok()) return;  // the next turn sees this node caught up
    catch_up_->reason = absl::StrCat("catching up to config version ", newest, " failed (",
                                     s.message(), "); retrying; no group is started here");
    Emit(v1::EVENT_KIND_CONFIG_REJECTED, "", catch_up_->reason, now);
    catch_up_->retry_at = now + std::max(config_.timing.deadtime, absl::Seconds(1));
    return;
  }
  if (fetcher_.Running() || now < catch_up_->retry_at) return;
  const auto& api = config_.spec.api();
  if (api.listen().empty() || api.tls_cert().empty()) {
    catch_up_->reason = absl::StrCat(
        "config version ", newest, " runs on ", absl::StrJoin(holders, ", "), ", this node ",
        running, ", and it cannot fetch it: the spec has no api.listen with TLS; give this node "
        "the spec file by hand; no group is started here until then");
    catch_up_->retry_at = absl::InfiniteDuration();
    Emit(v1::EVENT_KIND_CONFIG_REJECTED, "", catch_up_->reason, now);
    return;
  }
  SpecFetcher::Credentials creds;
  auto ca = tls::ReadPemFile(api.tls_client_ca());
  auto cert = tls::ReadPemFile(api.tls_cert());
  auto key = tls::ReadPemFile(api.tls_key());
  if (!ca.ok() || !cert.ok() || !key.ok()) {
    const absl::Status bad = !ca.ok() ? ca.status() : !cert.ok() ? cert.status() : key.status();
    catch_up_->reason = absl::StrCat("cannot fetch config version ", newest, ": ", bad.message());
    catch_up_->retry_at = now + std::max(config_.timing.deadtime, absl::Seconds(1));
    Emit(v1::EVENT_KIND_CONFIG_REJECTED, "", catch_up_->reason, now);
    return;
  }
  creds.ca_pem = *std::move(ca);
  creds.cert_pem = *std::move(cert);
  creds.key_pem = *std::move(key);
  std::vector<SpecFetcher::Source> sources;
  for (const std::string& peer : holders) {
    auto endpoints = ApiListenAddresses(config_.spec, peer);
    if (endpoints.ok()) sources.push_back({peer, *std::move(endpoints)});
  }
  logger_.Info(absl::StrCat("fetching config version ", newest, " from ",
                            absl::StrJoin(holders, ", ")));
  fetcher_.Start(std::move(sources), std::move(creds), newest,
                 std::max(config_.timing.deadtime, absl::Seconds(2)));
}

absl::Status AgentLoop::TakeFetchedSpec(const SpecFetcher::Result& r, MonoTime now) {
  const std::string file = absl::StrCat(options_.config_path, ".catch-up");
  absl::Status written = WriteSynced(file, r.spec_yaml);
  if (!written.ok()) return written;
  auto spec = LoadSpec(file, logger_);
  if (!spec.ok()) {
    unlink(file.c_str());
    return spec.status();
  }
  // Inline secrets do not travel: this node's own come back in, and the
  // file it keeps holds them.
  spec::v1::ClusterSpec whole = *std::move(spec);
  bool redacted = false;
  for (const auto& k : whole.auth().keys()) redacted = redacted || k.secret() == kSecretNotSent;
  if (absl::Status restored = RestoreSecrets(config_.spec, &whole); !restored.ok()) {
    unlink(file.c_str());
    return restored;
  }
  // It must be exactly the spec the peer runs (an inline secret this node
  // put back may have been changed by the apply).
  if (Hex(SpecHash(whole)) != r.hash) {
    unlink(file.c_str());
    return absl::FailedPreconditionError(absl::StrCat(
        "the spec fetched from ", r.from, " does not match the one it runs (hash ",
        Hex(SpecHash(whole)), ", not ", r.hash,
        "): an inline key secret changed? Give keys a secret_file, or copy the spec by hand"));
  }
  if (redacted) {
    absl::Status rewritten = WriteSynced(file, config::SpecToYaml(whole));
    if (!rewritten.ok()) {
      unlink(file.c_str());
      return rewritten;
    }
  }
  auto staged = StageSpec(std::move(whole));
  if (!staged.ok()) {
    unlink(file.c_str());
    return staged.status();
  }
  MarkApplied(staged->spec);
  absl::Status s = SwitchTo(*std::move(staged), absl::StrCat("caught up from ", r.from), now);
  if (!s.ok()) {
    unlink(file.c_str());
    return s;
  }
  if (rename(file.c_str(), options_.config_path.c_str()) != 0) {
    logger_.Error(absl::StrCat("running config version ", r.version, " from ", r.from,
                               " but cannot make it the spec file ", options_.config_path, ": ",
                               strerror(errno), "; a restart would go back to the old one"));
  }
  return absl::OkStatus();
}

void AgentLoop::MarkApplied(const spec::v1::ClusterSpec& spec) {
  applied_hash_ = Hex(SpecHash(spec));
  absl::Status s = state_dir_->WriteFileAtomic(kAppliedSpecFile, applied_hash_);
  if (!s.ok()) {
    logger_.Warn(absl::StrCat("cannot note the applied spec (", s.message(),
                              "); after a restart, peers would not catch up from this node"));
  }
}

}  // namespace hacluster::agent
