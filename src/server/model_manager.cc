#include "server/model_manager.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "engine/loader.h"
#include "engine/memory.h"
#include "gguf/file.h"
#include "model/config.h"
#include "server/engine_model.h"

namespace hearth::server {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "gemma-3-1b.gguf" -> "gemma-3-1b".
std::string StemOf(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  if (EndsWith(name, ".gguf")) name.resize(name.size() - 5);
  return name;
}

bool IsProjectorFile(const std::string& file_name) {
  return file_name.rfind("mmproj", 0) == 0 || EndsWith(file_name, ".mmproj.gguf");
}

// What a projector file takes, from its metadata (no weights read).
void ReadProjectorCaps(const std::string& mmproj, ModelInfo* info) {
  if (mmproj.empty()) return;
  Result<std::unique_ptr<gguf::File>> f = gguf::File::Open(mmproj);
  if (!f.ok()) return;  // reported when the model loads
  Result<bool> vision = (*f)->GetBoolOr("clip.has_vision_encoder", false);
  Result<bool> audio = (*f)->GetBoolOr("clip.has_audio_encoder", false);
  info->vision = vision.ok() && *vision;
  info->audio = audio.ok() && *audio;
}

int64_t MTime(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

class ModelManager : public ModelHost {
 public:
  explicit ModelManager(ModelManagerOptions o) : opt_(std::move(o)) {}
  ~ModelManager() override;
  Status Start();

  std::vector<ModelInfo> List() const override;
  std::vector<ModelInfo> Running() const override;
  Result<std::shared_ptr<LocalModel>> Acquire(const std::string& name,
                                              std::optional<double> keep_alive_s) override;
  Status Unload(const std::string& name) override;
  bool Ready() const override;
  std::string DefaultModel() const override { return default_name_; }

 private:
  struct Entry {
    std::string path;
    std::string mmproj;
    int64_t mtime = 0;
    ModelInfo info;               // static facts (cached per mtime)
    std::shared_ptr<EngineModel> loaded;
    int64_t resident = 0;         // planned bytes while loaded
    double keep_alive_s = 300;
    Clock::time_point last_used;
    bool unload_requested = false;
  };

  // Rescans the models directory (with mu_ held).
  void ScanLocked() const;
  Result<Entry*> FindLocked(const std::string& name) const;
  std::string NamesLocked() const;
  Result<std::shared_ptr<EngineModel>> LoadLocked(Entry& e, std::unique_lock<std::mutex>& lock);
  void ReaperLoop();

  ModelManagerOptions opt_;
  std::string default_name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  mutable std::map<std::string, Entry> entries_;
  bool loading_ = false;  // one load at a time
  bool stop_ = false;
  bool default_failed_ = false;
  std::thread reaper_;
  std::thread initial_load_;
};

ModelManager::~ModelManager() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (initial_load_.joinable()) initial_load_.join();
  if (reaper_.joinable()) reaper_.join();
}

Status ModelManager::Start() {
  if (opt_.model_path.empty() && opt_.models_dir.empty())
    return InvalidArgumentError("give a model (-m FILE.gguf) or a models directory (--models-dir)");
  if (!opt_.models_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(opt_.models_dir, ec))
      return NotFoundError("models directory " + opt_.models_dir + " does not exist");
  }
  if (!opt_.model_path.empty()) {
    // The default model must at least be a readable GGUF: fail at start, not on first request.
    const std::string name = StemOf(opt_.model_path);
    ASSIGN_OR_RETURN(ModelInfo info, ReadModelInfo(opt_.model_path, name));
    Entry e;
    e.path = opt_.model_path;
    e.mmproj = opt_.mmproj_path;
    e.mtime = MTime(opt_.model_path);
    e.info = info;
    ReadProjectorCaps(e.mmproj, &e.info);
    e.keep_alive_s = -1;  // the model the server was started with stays, unless told otherwise
    e.last_used = Clock::now();
    default_name_ = name;
    entries_[name] = std::move(e);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    ScanLocked();
  }
  reaper_ = std::thread([this] { ReaperLoop(); });
  if (!default_name_.empty() && opt_.load_default_now) {
    initial_load_ = std::thread([this] {
      Result<std::shared_ptr<LocalModel>> m = Acquire(default_name_, std::nullopt);
      if (!m.ok()) {
        std::fprintf(stderr, "hearth: loading %s failed: %s\n", default_name_.c_str(),
                     m.status().ToString().c_str());
        std::lock_guard<std::mutex> l(mu_);
        default_failed_ = true;
      }
    });
  }
  return Status::Ok();
}

void ModelManager::ScanLocked() const {
  if (opt_.models_dir.empty()) return;
  std::error_code ec;
  std::map<std::string, std::string> projectors;  // model stem -> mmproj path
  std::vector<std::string> models;
  for (const auto& de : fs::directory_iterator(opt_.models_dir, ec)) {
    if (!de.is_regular_file(ec)) continue;
    const std::string file = de.path().filename().string();
    if (!EndsWith(file, ".gguf")) continue;
    if (IsProjectorFile(file)) {
      std::string stem = file;
      if (EndsWith(stem, ".mmproj.gguf")) stem.resize(stem.size() - 12);
      else if (stem.rfind("mmproj-", 0) == 0) stem = stem.substr(7, stem.size() - 7 - 5);
      projectors[stem] = de.path().string();
      continue;
    }
    models.push_back(de.path().string());
  }
  for (const std::string& path : models) {
    const std::string name = StemOf(path);
    const int64_t mtime = MTime(path);
    auto it = entries_.find(name);
    if (it != entries_.end() && (it->second.path != path || it->second.mtime == mtime)) continue;
    Result<ModelInfo> info = ReadModelInfo(path, name);
    if (!info.ok()) {
      std::fprintf(stderr, "hearth: skipping %s: %s\n", path.c_str(),
                   info.status().message().c_str());
      continue;
    }
    Entry& e = entries_[name];
    if (e.loaded) continue;  // a changed file is picked up after it unloads
    e.path = path;
    e.mtime = mtime;
    e.info = *info;
    e.keep_alive_s = opt_.keep_alive_s;
    auto pj = projectors.find(name);
    e.mmproj = pj != projectors.end() ? pj->second : "";
    ReadProjectorCaps(e.mmproj, &e.info);
  }
}

std::string ModelManager::NamesLocked() const {
  std::string s;
  for (const auto& [n, e] : entries_) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

Result<ModelManager::Entry*> ModelManager::FindLocked(const std::string& requested) const {
  std::string name = requested;
  // Ollama clients name models "name:tag"; our files have one tag, "latest".
  if (EndsWith(name, ":latest")) name.resize(name.size() - 7);
  if (name.empty() || name == "local" || name == "auto") {
    if (!default_name_.empty()) name = default_name_;
    else if (entries_.size() == 1) name = entries_.begin()->first;
    else
      return InvalidArgumentError("'model': no default model; name one of: " + NamesLocked());
  }
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    ScanLocked();
    it = entries_.find(name);
  }
  if (it == entries_.end())
    return NotFoundError("model '" + requested + "' not found; available: " + NamesLocked());
  return &it->second;
}

std::vector<ModelInfo> ModelManager::List() const {
  std::lock_guard<std::mutex> l(mu_);
  ScanLocked();
  std::vector<ModelInfo> out;
  for (const auto& [n, e] : entries_) {
    out.push_back(e.loaded ? e.loaded->info() : e.info);
  }
  return out;
}

std::vector<ModelInfo> ModelManager::Running() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ModelInfo> out;
  const int64_t now = UnixSeconds();
  for (const auto& [n, e] : entries_) {
    if (!e.loaded) continue;
    ModelInfo info = e.loaded->info();
    info.resident_bytes = e.resident;
    if (e.keep_alive_s >= 0) {
      const double idle =
          std::chrono::duration<double>(Clock::now() - e.last_used).count();
      info.expires_unix = now + static_cast<int64_t>(std::max(0.0, e.keep_alive_s - idle));
    }
    out.push_back(info);
  }
  return out;
}

Result<std::shared_ptr<EngineModel>> ModelManager::LoadLocked(Entry& e,
                                                              std::unique_lock<std::mutex>& lock) {
  // Memory check before anything is mapped for good: what this model needs at the configured
  // context for every parallel sequence, against what is free once the other loaded models are
  // counted.
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> f, gguf::File::Open(e.path));
  ASSIGN_OR_RETURN(model::Config c, model::LoadConfig(*f));
  int64_t n_ctx = opt_.n_ctx > 0 ? std::min<int64_t>(opt_.n_ctx, c.n_ctx_train) : c.n_ctx_train;
  engine::MemoryPlan plan = engine::PlanMemory(*f, c, n_ctx, opt_.n_batch, opt_.kv_type);
  plan.kv *= opt_.parallel;
  int64_t others = 0;
  for (const auto& [n, o] : entries_)
    if (o.loaded) others += o.resident;
  if (opt_.max_memory_bytes > 0)
    plan.ram_available = plan.ram_available > 0
                             ? std::min(plan.ram_available, opt_.max_memory_bytes)
                             : opt_.max_memory_bytes;
  plan.ram_available = std::max<int64_t>(0, plan.ram_available - others);
  if (!opt_.ignore_memory_check && !plan.fits()) {
    // Unload idle models, least recently used first, until it fits.
    for (;;) {
      Entry* victim = nullptr;
      for (auto& [n, o] : entries_) {
        if (!o.loaded || &o == &e || o.loaded.use_count() > 1) continue;
        if (!victim || o.last_used < victim->last_used) victim = &o;
      }
      if (!victim) break;
      plan.ram_available += victim->resident;
      victim->loaded.reset();
      victim->resident = 0;
      if (plan.fits()) break;
    }
    if (!plan.fits()) {
      return ResourceExhaustedError("model '" + e.info.name + "' does not fit in memory with " +
                                    std::to_string(opt_.parallel) + " sequences of " +
                                    std::to_string(n_ctx) + " tokens:\n" + plan.Explain());
    }
  }
  f.reset();
  EngineModelOptions eo;
  eo.name = e.info.name;
  eo.path = e.path;
  eo.mmproj_path = e.mmproj;
  eo.threads = opt_.threads;
  eo.allow_remote_media = opt_.allow_remote_media;
  eo.mmap = opt_.mmap;
  eo.scheduler = {.parallel = opt_.parallel, .max_queue = opt_.max_queue, .n_ctx = n_ctx,
                  .n_batch = opt_.n_batch, .kv_type = opt_.kv_type};
  loading_ = true;
  lock.unlock();
  Result<std::shared_ptr<EngineModel>> m = EngineModel::Load(eo);
  lock.lock();
  loading_ = false;
  cv_.notify_all();
  if (!m.ok()) return m.status();
  e.loaded = *m;
  e.resident = plan.total();
  return *m;
}

Result<std::shared_ptr<LocalModel>> ModelManager::Acquire(const std::string& name,
                                                          std::optional<double> keep_alive_s) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (stop_) return UnavailableError("the server is shutting down");
    ASSIGN_OR_RETURN(Entry * e, FindLocked(name));
    if (keep_alive_s) {
      e->keep_alive_s = *keep_alive_s;
      e->unload_requested = false;
    }
    e->last_used = Clock::now();
    if (e->loaded) return std::shared_ptr<LocalModel>(e->loaded);
    if (loading_) {  // another load is running (maybe this very model): wait for it
      cv_.wait(lock, [&] { return !loading_ || stop_; });
      continue;
    }
    ASSIGN_OR_RETURN(std::shared_ptr<EngineModel> m, LoadLocked(*e, lock));
    std::fprintf(stderr, "hearth: loaded %s (%s, %.0f ms)\n", e->info.name.c_str(), e->path.c_str(),
                 m->info().load_ms);
    return std::shared_ptr<LocalModel>(m);
  }
}

Status ModelManager::Unload(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(Entry * e, FindLocked(name));
  e->unload_requested = true;
  if (e->loaded && e->loaded.use_count() == 1) {
    e->loaded.reset();
    e->resident = 0;
  }
  return Status::Ok();
}

bool ModelManager::Ready() const {
  std::lock_guard<std::mutex> l(mu_);
  if (default_name_.empty()) return true;
  auto it = entries_.find(default_name_);
  return it != entries_.end() && it->second.loaded != nullptr;
}

void ModelManager::ReaperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(500));
    const auto now = Clock::now();
    for (auto& [n, e] : entries_) {
      if (!e.loaded) continue;
      if (e.loaded.use_count() > 1) {  // in use: idle time starts when it is released
        e.last_used = now;
        continue;
      }
      const double idle = std::chrono::duration<double>(now - e.last_used).count();
      if (e.unload_requested || (e.keep_alive_s >= 0 && idle >= e.keep_alive_s)) {
        std::fprintf(stderr, "hearth: unloading %s (idle %.0f s)\n", n.c_str(), idle);
        e.loaded.reset();
        e.resident = 0;
        e.unload_requested = false;
      }
    }
  }
}

}  // namespace

Result<std::unique_ptr<ModelHost>> CreateModelManager(const ModelManagerOptions& options) {
  if (options.parallel < 1) return InvalidArgumentError("--parallel must be at least 1");
  auto m = std::make_unique<ModelManager>(options);
  TRY(m->Start());
  return std::unique_ptr<ModelHost>(std::move(m));
}

}  // namespace hearth::server
