// Checks that computing and verifying a MAC does not touch the heap: the
// agent MACs every frame it sends and receives, at a keepalive down to 5 ms.
// Both the C++ heap (operator new) and OpenSSL's (CRYPTO_malloc) are counted.
#include <openssl/crypto.h>

#include <cstdlib>
#include <new>
#include <string>

#include "agent/wire/mac.h"
#include "gtest/gtest.h"

namespace {
bool counting = false;
long allocations = 0;

void* CountingMalloc(size_t size, const char*, int) {
  if (counting) ++allocations;
  return std::malloc(size);
}
void* CountingRealloc(void* p, size_t size, const char*, int) {
  if (counting) ++allocations;
  return std::realloc(p, size);
}
void CountingFree(void* p, const char*, int) { std::free(p); }

// OpenSSL takes new memory functions only before its first allocation.
const bool kHooked = CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree) == 1;
}  // namespace

void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (size == 0) size = 1;
  if (void* p = std::malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace hacluster::wire {
namespace {

TEST(MacAllocTest, ComputeAndVerifyNeverAllocate) {
  ASSERT_TRUE(kHooked) << "OpenSSL allocated before the counting hooks were set";
  const std::string frame(180, 'x');
  for (auto method : {spec::v1::AUTH_METHOD_SHA256, spec::v1::AUTH_METHOD_SHA1,
                      spec::v1::AUTH_METHOD_MD5, spec::v1::AUTH_METHOD_CRC}) {
    absl::StatusOr<Mac> mac = Mac::Create(method, "a secret of the cluster");
    ASSERT_TRUE(mac.ok());
    uint8_t out[kMaxMacSize];
    mac->Compute(frame, out);  // warm up
    std::string good(reinterpret_cast<const char*>(out), mac->size());
    allocations = 0;
    counting = true;
    for (int i = 0; i < 100; ++i) {
      mac->Compute(frame, out);
      bool ok = mac->Verify(frame, good);
      if (!ok) break;
    }
    counting = false;
    EXPECT_EQ(allocations, 0) << "method " << static_cast<int>(method);
    EXPECT_TRUE(mac->Verify(frame, good));
  }
}

}  // namespace
}  // namespace hacluster::wire
