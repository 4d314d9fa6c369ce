// The two phases of an apply on this node: the spec's text is staged next
// to the agent's spec file and checked as a reload checks it; the commit
// switches to it and renames it over the spec file, so a restart or a
// SIGHUP keeps it.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/node/agent_loop.h"

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
  if (!pending_apply_.has_value() || pending_apply_->id != r.apply_id) {
    return AnswerApply(r.id, false,
                       absl::StrCat("no apply ", r.apply_id,
                                    " is prepared here (never prepared, aborted, or dropped "
                                    "when its hold passed)"));
  }
  PendingApply p = *std::move(pending_apply_);
  pending_apply_.reset();
  const uint64_t version = p.staged.spec.config_version();
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
