// Lock facts the compiler checks: clang's thread-safety annotations
// (-Wthread-safety, on in every clang build and an error in the tsan
// preset), as macros that expand to nothing for other compilers, and a
// mutex the analysis can see (std::mutex carries no annotations).
//
//   struct Queue {
//     Mutex mu;
//     std::vector<int> items CTKIT_GUARDED_BY(mu);
//   };
//   { MutexLock lock(&q.mu); q.items.push_back(1); }  // checked
//
// To wait for a condition, use std::condition_variable_any on the Mutex
// itself, in a loop, inside the MutexLock's scope:
//   while (!q.ready) cv.wait(q.mu);
#ifndef CTKIT_CORE_THREAD_ANNOTATIONS_H_
#define CTKIT_CORE_THREAD_ANNOTATIONS_H_

#include <mutex>

#if defined(__clang__)
#define CTKIT_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CTKIT_THREAD_ANNOTATION(x)
#endif

#define CTKIT_CAPABILITY(x) CTKIT_THREAD_ANNOTATION(capability(x))
#define CTKIT_SCOPED_CAPABILITY CTKIT_THREAD_ANNOTATION(scoped_lockable)
/// The member is read and written only with `x` held.
#define CTKIT_GUARDED_BY(x) CTKIT_THREAD_ANNOTATION(guarded_by(x))
/// The caller must hold the capabilities.
#define CTKIT_REQUIRES(...) \
  CTKIT_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define CTKIT_ACQUIRE(...) \
  CTKIT_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define CTKIT_RELEASE(...) \
  CTKIT_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define CTKIT_ASSERT_CAPABILITY(x) CTKIT_THREAD_ANNOTATION(assert_capability(x))

namespace ctkit {

/// std::mutex, visible to the analysis. lock()/unlock() make it a
/// BasicLockable, for std::condition_variable_any.
class CTKIT_CAPABILITY("mutex") Mutex {
 public:
  void lock() CTKIT_ACQUIRE() { mu_.lock(); }
  void unlock() CTKIT_RELEASE() { mu_.unlock(); }
  /// For code that runs while no other thread can reach what this mutex
  /// guards (a single-threaded phase): tells the analysis so, at no cost.
  /// Say at the call why no other thread can be there.
  void AssumeHeldSerially() const CTKIT_ASSERT_CAPABILITY(this) {}

 private:
  std::mutex mu_;
};

/// Holds a Mutex for its scope.
class CTKIT_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) CTKIT_ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() CTKIT_RELEASE() { mu_->unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace ctkit

#endif  // CTKIT_CORE_THREAD_ANNOTATIONS_H_
