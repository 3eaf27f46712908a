// libFuzzer entry for the GGUF reader: parses arbitrary bytes with gguf::File::FromMemory and, when
// they are accepted, touches every metadata value through the typed getters and reads every byte
// of every tensor, so the sanitizers see any view that points outside the input. Accepted inputs
// are also re-serialised with the writer and parsed again, which must succeed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/check.h"
#include "gguf/dump.h"
#include "gguf/file.h"
#include "gguf/writer.h"

namespace {

using hearth::gguf::File;
using hearth::gguf::TensorInfo;
using hearth::gguf::Value;
using hearth::gguf::ValueType;

uint64_t TouchValue(const File& f, const std::string& key, const Value& v) {
  uint64_t h = 0;
  // Every getter must return a value or a Status for every stored type, never crash.
  if (auto r = f.GetU32(key); r.ok()) h += *r;
  if (auto r = f.GetU64(key); r.ok()) h += *r;
  if (auto r = f.GetI64(key); r.ok()) h += static_cast<uint64_t>(*r);
  if (auto r = f.GetF32(key); r.ok()) h += static_cast<uint64_t>(*r != 0);
  if (auto r = f.GetBool(key); r.ok()) h += *r;
  if (auto r = f.GetString(key); r.ok()) h += r->size();
  if (auto r = f.GetIntArray(key); r.ok()) h += r->size();
  if (auto r = f.GetF32Array(key); r.ok()) h += r->size();
  if (auto r = f.GetBoolArray(key); r.ok()) h += r->size();
  if (auto r = f.GetStringArray(key); r.ok()) {
    for (std::string_view s : *r) {
      for (char c : s) h += static_cast<uint8_t>(c);
    }
  }
  h += hearth::gguf::DescribeValue(v).size();
  return h;
}

uint64_t TouchTensor(const TensorInfo& t) {
  uint64_t h = 0;
  for (uint64_t i = 0; i < t.nbytes; ++i) h += t.data[i];
  CHECK(t.n_elements() >= 0) << t.name;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = File::FromMemory(data, size, "fuzz.gguf");
  if (!file.ok()) {
    CHECK(!file.status().message().empty()) << "error without a message";
    return 0;
  }
  const File& f = **file;
  volatile uint64_t sink = 0;
  for (const auto& [key, value] : f.metadata()) sink = sink + TouchValue(f, key, value);
  for (const TensorInfo& t : f.tensors()) {
    sink = sink + TouchTensor(t);
    CHECK(f.FindTensor(t.name) == &t) << t.name;
  }
  sink = sink + hearth::gguf::DescribeFile(f, true).size();

  // Round trip: what the reader accepted, the writer must reproduce in a form the reader accepts.
  hearth::gguf::Writer w;
  for (const auto& [key, value] : f.metadata()) w.SetValue(key, value);
  for (const TensorInfo& t : f.tensors()) {
    std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
    hearth::Status st = w.AddTensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.nbytes));
    CHECK(st.ok()) << st.ToString();
  }
  std::vector<uint8_t> again = w.Serialize();
  auto reparsed = File::FromMemory(again.data(), again.size(), "roundtrip.gguf");
  CHECK(reparsed.ok()) << reparsed.status().ToString();
  CHECK((*reparsed)->tensors().size() == f.tensors().size()) << "tensor count";
  CHECK((*reparsed)->metadata().size() == f.metadata().size()) << "key count";
  return 0;
}
