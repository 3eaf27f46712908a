// hearth-pack-gguf: writes a GGUF file from a manifest with the project's own writer and quantizer.
// The demo model's exporter (tools/demo-model/export.py) describes every metadata key and tensor
// in the manifest and puts the F32 tensor data in a raw file beside it; this tool converts each
// tensor to its target type (F32, F16 or Q8_0) and writes the file.
//
//   hearth-pack-gguf MANIFEST.json DATA.bin -o OUT.gguf
//
// Manifest: {"metadata": [{"key": K, "type": T, "value": V}, ...],
//            "tensors": [{"name": N, "ne": [ne0, ne1, ...], "type": "f32"|"f16"|"q8_0",
//                         "offset": BYTE_OFFSET_IN_DATA}, ...]}
// with T one of u32, i32, f32, bool, string, u32[], i32[], f32[], bool[], string[].
// Keys and tensors are written in manifest order, as the converter's order is part of the layout.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/writer.h"
#include "kernels/quant.h"

namespace {

using hearth::Result;
using hearth::Status;
using nlohmann::json;

Status SetKey(hearth::gguf::Writer& w, const json& kv) {
  const std::string key = kv.at("key"), type = kv.at("type");
  const json& v = kv.at("value");
  if (type == "u32") w.SetU32(key, v.get<uint32_t>());
  else if (type == "i32") w.SetI32(key, v.get<int32_t>());
  else if (type == "f32") w.SetF32(key, v.get<float>());
  else if (type == "bool") w.SetBool(key, v.get<bool>());
  else if (type == "string") w.SetString(key, v.get<std::string>());
  else if (type == "u32[]") w.SetU32Array(key, v.get<std::vector<uint32_t>>());
  else if (type == "i32[]") w.SetI32Array(key, v.get<std::vector<int32_t>>());
  else if (type == "f32[]") w.SetF32Array(key, v.get<std::vector<float>>());
  else if (type == "bool[]") w.SetBoolArray(key, v.get<std::vector<bool>>());
  else if (type == "string[]") w.SetStringArray(key, v.get<std::vector<std::string>>());
  else return hearth::InvalidArgumentError("key '" + key + "': unknown value type '" + type + "'");
  return Status::Ok();
}

Status AddTensor(hearth::gguf::Writer& w, const json& t, const std::vector<uint8_t>& data) {
  const std::string name = t.at("name"), type = t.at("type");
  const std::vector<int64_t> ne = t.at("ne").get<std::vector<int64_t>>();
  const uint64_t offset = t.at("offset").get<uint64_t>();
  int64_t n = 1;
  for (int64_t x : ne) n *= x;
  if (ne.empty() || n <= 0 || offset + static_cast<uint64_t>(n) * 4 > data.size()) {
    return hearth::InvalidArgumentError("tensor '" + name + "': shape or offset outside the data file");
  }
  const int64_t cols = ne[0], rows = n / cols;
  hearth::gguf::TensorType tt;
  if (type == "f32") tt = hearth::gguf::TensorType::kF32;
  else if (type == "f16") tt = hearth::gguf::TensorType::kF16;
  else if (type == "q8_0") tt = hearth::gguf::TensorType::kQ8_0;
  else return hearth::InvalidArgumentError("tensor '" + name + "': unknown type '" + type + "'");
  const int64_t rb = hearth::kernels::RowBytes(tt, cols);
  std::vector<uint8_t> bytes(static_cast<size_t>(rb * rows));
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(row.data(), data.data() + offset + static_cast<uint64_t>(r * cols) * 4, cols * 4);
    hearth::kernels::QuantizeRow(tt, row.data(), bytes.data() + r * rb, cols);
  }
  return w.AddTensor(name, tt, ne, std::move(bytes));
}

Status Pack(const std::string& manifest_path, const std::string& data_path, const std::string& out) {
  std::ifstream mf(manifest_path);
  if (!mf) return hearth::NotFoundError("cannot open manifest " + manifest_path);
  json m;
  try {
    m = json::parse(mf);
  } catch (const json::exception& e) {
    return hearth::InvalidArgumentError(manifest_path + ": " + e.what());
  }
  std::ifstream df(data_path, std::ios::binary);
  if (!df) return hearth::NotFoundError("cannot open data file " + data_path);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(df)), std::istreambuf_iterator<char>());
  hearth::gguf::Writer w;
  try {
    for (const json& kv : m.at("metadata")) {
      Status s = SetKey(w, kv);
      if (!s.ok()) return s;
    }
    for (const json& t : m.at("tensors")) {
      Status s = AddTensor(w, t, data);
      if (!s.ok()) return s;
    }
  } catch (const json::exception& e) {
    return hearth::InvalidArgumentError(manifest_path + ": " + e.what());
  }
  return w.WriteFile(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 || std::string(argv[3]) != "-o") {
    std::fprintf(stderr, "usage: hearth-pack-gguf MANIFEST.json DATA.bin -o OUT.gguf\n");
    return 2;
  }
  Status s = Pack(argv[1], argv[2], argv[4]);
  if (!s.ok()) {
    std::fprintf(stderr, "hearth-pack-gguf: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
