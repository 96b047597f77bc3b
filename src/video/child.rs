//! Containing a child process (ffprobe, ffmpeg): an address-space limit, no core dump, and
//! a kill that reaches everything the child started.
//!
//! * **Unix**: the child leads its own process group (`process_group(0)`) and sets
//!   `RLIMIT_AS` and `RLIMIT_CORE = 0` on itself before `exec`; a kill is `SIGKILL` to the
//!   group.
//! * **Windows**: the child is put in a job object right after it starts, with a
//!   per-process memory limit and kill-on-close (so the job dies with the handle, even if
//!   mh itself is killed); a kill terminates the job. Between the start and the assignment
//!   (microseconds) the child runs without the limit; it has read nothing yet by then.

use std::io;
use std::process::{Child, Command};

/// Prepares `cmd` to be contained; `memory_limit` in bytes, 0 for none.
pub(crate) fn prepare(cmd: &mut Command, memory_limit: u64) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        // SAFETY: the closure runs in the forked child before exec and only calls
        // setrlimit, which is async-signal-safe; it allocates nothing and touches no lock.
        unsafe {
            cmd.pre_exec(move || {
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                if libc::setrlimit(libc::RLIMIT_CORE, &no_core) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if memory_limit > 0 {
                    let lim = libc::rlimit {
                        rlim_cur: memory_limit as libc::rlim_t,
                        rlim_max: memory_limit as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        // CREATE_NO_WINDOW: no console window flashes up per video.
        cmd.creation_flags(0x0800_0000);
        let _ = memory_limit;
    }
}

/// Kills a contained child and everything it started. Cheap to clone (the watchdog holds
/// one); safe to call after the child ended.
#[derive(Clone)]
pub(crate) struct Killer {
    #[cfg(unix)]
    pid: u32,
    #[cfg(windows)]
    job: std::sync::Arc<std::os::windows::io::OwnedHandle>,
}

impl Killer {
    /// Unix: the group `pid` leads. Only called while the child is not yet reaped (the
    /// caller's rule), so the id cannot belong to another process.
    #[cfg(unix)]
    pub fn kill(&self) {
        if let Ok(pid) = libc::pid_t::try_from(self.pid) {
            // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names the
            // process group, which is the unreaped child's own.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }

    /// Windows: terminates the job (every process in it).
    #[cfg(windows)]
    pub fn kill(&self) {
        use std::os::windows::io::AsRawHandle;
        // SAFETY: the job handle is open while self lives; terminating an empty job is a
        // no-op.
        unsafe {
            windows_sys::Win32::System::JobObjects::TerminateJobObject(
                self.job.as_raw_handle() as _,
                1,
            );
        }
    }
}

/// Contains the started `child` (see the module docs); on failure the caller kills it.
pub(crate) fn contain(child: &Child, memory_limit: u64) -> io::Result<Killer> {
    #[cfg(unix)]
    {
        let _ = memory_limit;
        Ok(Killer { pid: child.id() })
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
        use windows_sys::Win32::System::JobObjects::{
            AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
            JOB_OBJECT_LIMIT_PROCESS_MEMORY, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
            JobObjectExtendedLimitInformation, SetInformationJobObject,
        };
        // SAFETY: no security attributes and no name: a new anonymous job.
        let raw = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if raw.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: CreateJobObjectW returned a new handle that nothing else owns.
        let job = unsafe { OwnedHandle::from_raw_handle(raw) };
        // SAFETY: all-zero is a valid JOBOBJECT_EXTENDED_LIMIT_INFORMATION (no limits).
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if memory_limit > 0 {
            limits.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
            limits.ProcessMemoryLimit = usize::try_from(memory_limit).unwrap_or(usize::MAX);
        }
        // SAFETY: the job handle is open; `limits` is readable for the size passed.
        let ok = unsafe {
            SetInformationJobObject(
                job.as_raw_handle() as _,
                JobObjectExtendedLimitInformation,
                (&limits as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both handles are open for the call (the child is not yet waited for).
        let ok = unsafe {
            AssignProcessToJobObject(job.as_raw_handle() as _, child.as_raw_handle() as _)
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Killer { job: std::sync::Arc::new(job) })
    }
}
