// gguf::File: mapping files, opening split sets and merging their tensors. Parsing and validation
// of each shard's bytes is in parser.cc; typed metadata getters are in metadata.cc.
#include "gguf/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/check.h"
#include "gguf/parser.h"

namespace hearth::gguf {

struct File::Shard {
  std::string path;
  const uint8_t* base = nullptr;  // start of the image
  size_t size = 0;
  bool mapped = false;  // base is an mmap we own
  bool copied = false;  // CopyIntoMemory replaced the file pages by anonymous memory
  std::vector<std::pair<uint64_t, uint64_t>> copies;  // those byte ranges, sorted
  bool sealed = false;  // SealCopies made them read-only
  uint64_t data_offset = 0;

  ~Shard() {
    if (mapped) munmap(const_cast<uint8_t*>(base), size);
  }
};

namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// "<prefix>-%05d-of-%05d.gguf" (1-based shard number).
struct SplitName {
  std::string prefix;
  int index = 0;  // 1-based
  int count = 0;
};

std::optional<int> ParseDigits(std::string_view s) {
  if (s.size() < 5 || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<SplitName> ParseSplitName(std::string_view path) {
  constexpr std::string_view kExt = ".gguf";
  if (path.size() <= kExt.size() || path.substr(path.size() - kExt.size()) != kExt) return std::nullopt;
  std::string_view stem = path.substr(0, path.size() - kExt.size());
  size_t of = stem.rfind("-of-");
  if (of == std::string_view::npos) return std::nullopt;
  std::optional<int> count = ParseDigits(stem.substr(of + 4));
  size_t dash = stem.rfind('-', of - 1);
  if (!count || of == 0 || dash == std::string_view::npos) return std::nullopt;
  std::optional<int> index = ParseDigits(stem.substr(dash + 1, of - dash - 1));
  if (!index || *index < 1 || *index > *count) return std::nullopt;
  return SplitName{std::string(stem.substr(0, dash)), *index, *count};
}

std::string SplitPath(const std::string& prefix, int index, int count) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "-%05d-of-%05d.gguf", index, count);
  return prefix + buf;
}

// Maps `path` read-only. An empty file is returned as size 0 with no mapping.
Status MapFile(const std::string& path, const uint8_t** base, size_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFoundError(path + ": file not found");
    return InvalidArgumentError(path + ": cannot open: " + ErrnoText(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return InvalidArgumentError(path + ": cannot stat: " + ErrnoText(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError(path + ": not a regular file");
  }
  *size = static_cast<size_t>(st.st_size);
  *base = nullptr;
  if (*size > 0) {
    void* p = mmap(nullptr, *size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return ResourceExhaustedError(path + ": cannot mmap " + std::to_string(*size) +
                                    " bytes: " + ErrnoText(err));
    }
    *base = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
  return Status::Ok();
}

}  // namespace

File::~File() = default;

uint64_t File::total_bytes() const {
  uint64_t n = 0;
  for (const auto& s : shards_) n += s->size;
  return n;
}

const Value* File::Find(std::string_view key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const TensorInfo* File::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<std::unique_ptr<File>> File::FromMemory(const uint8_t* bytes, size_t size, std::string name) {
  ASSIGN_OR_RETURN(internal::ParsedShard parsed, internal::ParseShard(bytes, size, name));
  std::unique_ptr<File> f(new File());
  f->path_ = std::move(name);
  f->version_ = parsed.version;
  f->alignment_ = parsed.alignment;
  auto shard = std::make_unique<Shard>();
  shard->path = f->path_;
  shard->base = bytes;
  shard->size = size;
  shard->data_offset = parsed.data_offset;
  f->shards_.push_back(std::move(shard));
  f->kv_ = std::move(parsed.kv);
  f->tensors_ = std::move(parsed.tensors);
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->tensor_index_.emplace(f->tensors_[i].name, i);
  return f;
}

Result<std::unique_ptr<File>> File::Open(const std::string& path) {
  std::optional<SplitName> split = ParseSplitName(path);
  const int count = split ? split->count : 1;
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  for (int i = 1; i <= count; ++i) {
    const std::string shard_path = split ? SplitPath(split->prefix, i, count) : path;
    const std::string& name = shard_path;  // errors name the file as the caller can find it
    auto shard = std::make_unique<Shard>();
    shard->path = shard_path;
    Status st = MapFile(shard_path, &shard->base, &shard->size);
    if (!st.ok()) {
      if (st.code() == StatusCode::kNotFound && split) {
        return NotFoundError(shard_path + ": shard " + std::to_string(i) + " of " +
                             std::to_string(count) + " not found (opening " + path + ")");
      }
      return st;
    }
    shard->mapped = shard->base != nullptr;
    Shard* s = shard.get();
    f->shards_.push_back(std::move(shard));
    ASSIGN_OR_RETURN(internal::ParsedShard parsed, internal::ParseShard(s->base, s->size, name));
    s->data_offset = parsed.data_offset;

    // Split bookkeeping: split.no is 0-based (gguf-split), the file name 1-based.
    const auto split_key = [&](std::string_view key) -> std::optional<int64_t> {
      auto it = parsed.kv.find(key);
      if (it == parsed.kv.end()) return std::nullopt;
      const Value& v = it->second;
      if (v.type == ValueType::kString || v.type == ValueType::kArray ||
          v.type == ValueType::kF32 || v.type == ValueType::kF64 || v.type == ValueType::kBool) {
        return -1;  // reported as a mismatch below
      }
      return v.i;
    };
    std::optional<int64_t> n_split = split_key("split.count");
    if (!split && n_split && *n_split > 1) {
      return InvalidArgumentError(name + ": key 'split.count' is " + std::to_string(*n_split) +
                                  " but the file name does not follow <prefix>-%05d-of-%05d.gguf, "
                                  "so the other shards cannot be found");
    }
    if (split && n_split && *n_split != count) {
      return InvalidArgumentError(name + ": key 'split.count' is " + std::to_string(*n_split) +
                                  " but the file name says " + std::to_string(count) + " shards");
    }
    std::optional<int64_t> split_no = split_key("split.no");
    if (split && split_no && *split_no != i - 1) {
      return InvalidArgumentError(name + ": key 'split.no' is " + std::to_string(*split_no) +
                                  " but this is shard " + std::to_string(i) +
                                  " (split.no counts from 0)");
    }

    if (i == 1) {
      f->version_ = parsed.version;
      f->alignment_ = parsed.alignment;
      f->kv_ = std::move(parsed.kv);
    }
    for (TensorInfo& t : parsed.tensors) {
      t.shard = i - 1;
      if (f->tensor_index_.count(t.name) != 0) {
        const TensorInfo& first = f->tensors_[f->tensor_index_.find(t.name)->second];
        return InvalidArgumentError(name + ": tensor '" + t.name + "' is also in shard " +
                                    std::to_string(first.shard + 1));
      }
      f->tensor_index_.emplace(t.name, f->tensors_.size());
      f->tensors_.push_back(std::move(t));
    }
  }
  if (split && count > 1) {
    auto it = f->kv_.find("split.tensors.count");
    if (it != f->kv_.end() && it->second.type != ValueType::kString &&
        it->second.type != ValueType::kArray &&
        it->second.i != static_cast<int64_t>(f->tensors_.size())) {
      return InvalidArgumentError(path + ": key 'split.tensors.count' is " +
                                  std::to_string(it->second.i) + " but the " + std::to_string(count) +
                                  " shards hold " + std::to_string(f->tensors_.size()) + " tensors");
    }
  }
  return f;
}

void File::Prefetch(const std::function<void(uint64_t, uint64_t)>& progress) const {
  constexpr uint64_t kChunk = 64ull << 20;  // bytes advised per step (one progress tick)
  uint64_t total = 0;
  for (const auto& s : shards_) total += s->size - std::min<uint64_t>(s->data_offset, s->size);
  uint64_t done = 0;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  for (const auto& s : shards_) {
    const uint64_t begin = std::min<uint64_t>(s->data_offset, s->size);
    for (uint64_t off = begin; off < s->size; off += kChunk) {
      const uint64_t len = std::min<uint64_t>(kChunk, s->size - off);
      if (s->mapped) {
        const uint64_t aligned = off / page * page;  // madvise needs a page-aligned start
        madvise(const_cast<uint8_t*>(s->base) + aligned, len + (off - aligned), MADV_WILLNEED);
        // Touch one byte per page so the chunk is really read now and the progress reflects
        // the disk; the first forward pass then does not stall on page faults.
        uint8_t sink = 0;
        for (uint64_t p = off; p < off + len; p += page) sink ^= *((volatile const uint8_t*)(s->base + p));
        touched_ ^= sink;
      }
      done += len;
      if (progress) progress(done, total);
    }
  }
  if (progress && total == 0) progress(0, 0);
}

Status File::CopyIntoMemory(const std::function<void(uint64_t, uint64_t)>& progress,
                            const std::function<bool(const TensorInfo&)>& keep_mapped) {
  constexpr uint64_t kChunk = 64ull << 20;  // a multiple of the page size
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  // Per shard, the byte ranges to copy: all of it but the whole pages inside kept tensors.
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> copy(shards_.size());
  uint64_t total = 0, done = 0;
  for (size_t si = 0; si < shards_.size(); ++si) {
    const Shard& s = *shards_[si];
    if (!s.mapped || s.copied) continue;
    std::vector<std::pair<uint64_t, uint64_t>> keep;
    for (const TensorInfo& t : tensors_) {
      if (t.shard != static_cast<int>(si) || !keep_mapped || !keep_mapped(t)) continue;
      const uint64_t b = (static_cast<uint64_t>(t.data - s.base) + page - 1) / page * page;
      const uint64_t e = (static_cast<uint64_t>(t.data - s.base) + t.nbytes) / page * page;
      if (b < e) keep.push_back({b, e});
    }
    std::sort(keep.begin(), keep.end());
    uint64_t at = 0;
    for (const auto& [b, e] : keep) {
      if (b > at) copy[si].push_back({at, b});
      at = std::max(at, e);
    }
    if (at < s.size) copy[si].push_back({at, s.size});
    for (const auto& [b, e] : copy[si]) total += e - b;
  }
  if (total == 0) return Status::Ok();
  for (size_t si = 0; si < shards_.size(); ++si) {
    Shard& s = *shards_[si];
    if (!s.mapped || s.copied) continue;
    const int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return InvalidArgumentError(s.path + ": cannot reopen: " + ErrnoText(errno));
    auto* base = const_cast<uint8_t*>(s.base);
    for (const auto& [range_begin, range_end] : copy[si]) {
      for (uint64_t off = range_begin; off < range_end; off += kChunk) {
        const uint64_t len = std::min<uint64_t>(kChunk, range_end - off);
        // Anonymous pages in place of this chunk of the mapping, as 2 MiB pages where the kernel
        // allows them (one page fault per 2 MiB rather than per 4 KiB, and fewer TLB misses when
        // decoding), then the file read straight into them.
        std::string failed;
        if (mmap(base + off, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                 -1, 0) == MAP_FAILED) {
          failed = "no memory for it (" + ErrnoText(errno) + ")";
        } else {
          madvise(base + off, len, MADV_HUGEPAGE);  // advice only: without it, 4 KiB pages
          for (uint64_t got = 0; got < len && failed.empty();) {
            const ssize_t n = ::pread(fd, base + off + got, len - got, static_cast<off_t>(off + got));
            if (n > 0) {
              got += static_cast<uint64_t>(n);
            } else if (n == 0) {
              failed = "the file ended at byte " + std::to_string(off + got) + " (changed on disk?)";
            } else if (errno != EINTR) {
              failed = "cannot read it (" + ErrnoText(errno) + ")";
            }
          }
        }
        if (!failed.empty()) {
          // Map this chunk of the file back: the shard is whole and valid again, as before.
          void* back = mmap(base + off, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd,
                            static_cast<off_t>(off));
          CHECK(back != MAP_FAILED) << s.path << ": cannot map bytes " << off << ".." << off + len
                                    << " back after a failed copy: " << ErrnoText(errno);
          mprotect(base, off, PROT_READ);  // the chunks copied before this one: read-only again
          ::close(fd);
          return ResourceExhaustedError(s.path + ": copying the weights into memory stopped at byte " +
                                        std::to_string(off) + ": " + failed +
                                        "; they stay mapped from the file");
        }
        done += len;
        if (progress) progress(done, total);
      }
    }
    ::close(fd);
    s.copied = true;
    s.copies = copy[si];
  }
  return Status::Ok();
}

bool File::RewriteCopied(const TensorInfo& t, const std::function<void(uint8_t*)>& rewrite) {
  if (t.shard < 0 || static_cast<size_t>(t.shard) >= shards_.size() || t.nbytes == 0) return false;
  Shard& s = *shards_[t.shard];
  if (!s.copied || s.sealed) return false;
  const uint64_t b = static_cast<uint64_t>(t.data - s.base), e = b + t.nbytes;
  const bool inside = std::any_of(s.copies.begin(), s.copies.end(), [&](const auto& c) {
    return c.first <= b && e <= c.second;
  });
  if (!inside) return false;
  rewrite(const_cast<uint8_t*>(t.data));
  return true;
}

void File::SealCopies() {
  for (auto& sp : shards_) {
    Shard& s = *sp;
    if (!s.copied || s.sealed) continue;
    // Whole copied ranges at once: 2 MiB pages inside them stay whole (an mprotect of part of
    // one splits it into 4 KiB pages, and decoding then slows down with the TLB misses).
    for (const auto& [b, e] : s.copies) mprotect(const_cast<uint8_t*>(s.base) + b, e - b, PROT_READ);
    s.sealed = true;
  }
}

}  // namespace hearth::gguf
