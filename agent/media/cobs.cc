#include "agent/media/cobs.h"

#include <cstring>

namespace hacluster::media {

void CobsEncode(absl::string_view frame, std::string* out) {
  out->reserve(out->size() + CobsMaxEncodedSize(frame.size()));
  size_t code_at = out->size();
  out->push_back('\x01');
  unsigned code = 1;
  for (char c : frame) {
    if (c == '\0') {
      (*out)[code_at] = static_cast<char>(code);
      code_at = out->size();
      out->push_back('\x01');
      code = 1;
      continue;
    }
    out->push_back(c);
    if (++code == 0xFF) {
      (*out)[code_at] = static_cast<char>(code);
      code_at = out->size();
      out->push_back('\x01');
      code = 1;
    }
  }
  (*out)[code_at] = static_cast<char>(code);
}

absl::Status CobsDecode(absl::string_view encoded, std::string* out) {
  out->clear();
  if (encoded.empty()) return absl::InvalidArgumentError("empty COBS frame");
  out->reserve(encoded.size());
  size_t i = 0;
  while (i < encoded.size()) {
    unsigned code = static_cast<unsigned char>(encoded[i]);
    if (code == 0) {
      return absl::InvalidArgumentError("COBS frame holds a 0x00 byte");
    }
    ++i;
    size_t run = code - 1;
    if (run > encoded.size() - i) {
      return absl::InvalidArgumentError("COBS code byte runs past the end of the frame");
    }
    if (std::memchr(encoded.data() + i, 0, run) != nullptr) {
      return absl::InvalidArgumentError("COBS frame holds a 0x00 byte");
    }
    out->append(encoded.data() + i, run);
    i += run;
    if (code != 0xFF && i < encoded.size()) out->push_back('\0');
  }
  return absl::OkStatus();
}

CobsFrameReader::CobsFrameReader(size_t max_encoded_size)
    : max_encoded_size_(max_encoded_size) {
  partial_.reserve(max_encoded_size_);
  decoded_.reserve(max_encoded_size_);
}

void CobsFrameReader::Reset() {
  partial_.clear();
  discarding_ = false;
}

void CobsFrameReader::EndFrame(absl::FunctionRef<void(absl::string_view frame)> on_frame) {
  if (discarding_) {
    discarding_ = false;
  } else if (!partial_.empty()) {
    if (CobsDecode(partial_, &decoded_).ok()) {
      on_frame(decoded_);
    } else {
      ++frames_dropped_;
    }
  }
  partial_.clear();
}

void CobsFrameReader::Feed(absl::string_view bytes,
                           absl::FunctionRef<void(absl::string_view frame)> on_frame) {
  while (!bytes.empty()) {
    const void* delimiter = std::memchr(bytes.data(), kCobsDelimiter, bytes.size());
    size_t chunk = delimiter == nullptr
                       ? bytes.size()
                       : static_cast<size_t>(static_cast<const char*>(delimiter) - bytes.data());
    if (!discarding_) {
      if (partial_.size() + chunk > max_encoded_size_) {
        ++frames_dropped_;
        partial_.clear();
        discarding_ = true;
      } else {
        partial_.append(bytes.data(), chunk);
      }
    }
    if (delimiter == nullptr) return;
    EndFrame(on_frame);
    bytes.remove_prefix(chunk + 1);
  }
}

}  // namespace hacluster::media
