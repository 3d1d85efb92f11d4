using Trapeze.Kernel.Syscalls;

namespace Trapeze.Kernel.Files;

/// <summary>A process's file descriptors: each names an <see cref="OpenFile"/> and its close-on-exec bit.</summary>
public sealed class FileTable : IDisposable
{
    private readonly record struct Slot(OpenFile File, bool CloseOnExec);

    private readonly List<Slot?> slots = [];

    /// <summary>The lock table once this table (a POSIX lock owner) took a lock: closing a descriptor releases its locks on that file.</summary>
    internal FileLocks? Locks { get; set; }

    /// <summary>RLIMIT_NOFILE: descriptors are below this.</summary>
    public int Limit { get; set; } = 1024;

    /// <summary>Processes using this table: CLONE_FILES shares it.</summary>
    internal int Users { get; private set; } = 1;

    internal FileTable AddUser()
    {
        Users++;
        return this;
    }

    /// <summary>One process less; the last one closes every descriptor.</summary>
    internal void Release()
    {
        if (--Users == 0)
            Dispose();
    }

    /// <summary>fork's copy: the same open file descriptions (offsets, flags) under the same numbers.</summary>
    public FileTable Copy()
    {
        var copy = new FileTable { Limit = Limit };
        for (var fd = 0; fd < slots.Count; fd++)
        {
            if (slots[fd] is { } slot)
                slot.File.AddReference();
            copy.slots.Add(slots[fd]);
        }
        return copy;
    }

    /// <summary>execve closes the descriptors marked close-on-exec.</summary>
    public void CloseOnExec()
    {
        for (var fd = 0; fd < slots.Count; fd++)
        {
            if (slots[fd] is { CloseOnExec: true })
                Close(fd);
        }
    }

    public OpenFile? Get(int fd) => fd >= 0 && fd < slots.Count ? slots[fd]?.File : null;

    public bool GetCloseOnExec(int fd) => fd >= 0 && fd < slots.Count && slots[fd] is { CloseOnExec: true };

    public bool SetCloseOnExec(int fd, bool value)
    {
        if (Get(fd) is not { } file)
            return false;
        slots[fd] = new Slot(file, value);
        return true;
    }

    /// <summary>Installs <paramref name="file"/> at the lowest free descriptor at or above <paramref name="minimum"/>.</summary>
    public Result Add(OpenFile file, bool closeOnExec, int minimum = 0)
    {
        for (var fd = minimum; fd < Limit; fd++)
        {
            if (fd >= slots.Count || slots[fd] is null)
            {
                Place(fd, file, closeOnExec);
                return fd;
            }
        }
        return Errno.EMFILE;
    }

    /// <summary>Installs <paramref name="file"/> at exactly <paramref name="fd"/>, closing what was there (dup2).</summary>
    public Result Replace(int fd, OpenFile file, bool closeOnExec)
    {
        if (fd < 0 || fd >= Limit)
            return Errno.EBADF;
        var previous = Get(fd);
        Place(fd, file, closeOnExec);
        if (previous is not null)
            Closing(previous);
        return fd;
    }

    public Result Close(int fd)
    {
        if (Get(fd) is not { } file)
            return Errno.EBADF;
        slots[fd] = null;
        Closing(file);
        return 0;
    }

    public IEnumerable<(int Fd, OpenFile File)> All()
    {
        for (var fd = 0; fd < slots.Count; fd++)
        {
            if (slots[fd] is { } slot)
                yield return (fd, slot.File);
        }
    }

    public void Dispose()
    {
        for (var fd = 0; fd < slots.Count; fd++)
        {
            if (slots[fd] is { } slot)
            {
                slots[fd] = null;
                Closing(slot.File);
            }
        }
        Locks?.Forget(this);
    }

    /// <summary>One descriptor of <paramref name="file"/> goes: its POSIX locks, and what the file does on every close.</summary>
    private void Closing(OpenFile file)
    {
        Syscalls.RecordLocks.Closing(this, file);
        file.Closing(this);
        file.Release();
    }

    private void Place(int fd, OpenFile file, bool closeOnExec)
    {
        while (slots.Count <= fd)
            slots.Add(null);
        slots[fd] = new Slot(file, closeOnExec);
    }
}
