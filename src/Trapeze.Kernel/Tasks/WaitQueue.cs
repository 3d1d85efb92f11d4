namespace Trapeze.Kernel.Tasks;

/// <summary>
/// Threads waiting for something inside the kernel (a pipe's data, a child's exit, a futex word).
/// All kernel state changes under the scheduler's run lock, so a thread subscribes before it lets
/// go of the lock and no wake-up is lost. Woken threads dispatch their call again, so a wake-up
/// that finds nothing to do is harmless.
/// </summary>
/// <remarks>
/// A queue also counts its notifications, split by the poll events they announce, so that
/// edge-triggered epoll can tell a new event from one it reported already; and it forwards each
/// notification to listening queues (an epoll instance's), so a thread waiting on an epoll
/// descriptor wakes when any file it watches changes.
/// </remarks>
public sealed class WaitQueue
{
    /// <summary>POLLIN|POLLPRI|POLLERR|POLLHUP|POLLRDNORM|POLLRDBAND|POLLRDHUP: what a reader waits for.</summary>
    public const short InputEvents = 0x001 | 0x002 | 0x008 | 0x010 | 0x040 | 0x080 | 0x2000;

    /// <summary>POLLOUT|POLLERR|POLLHUP|POLLWRNORM|POLLWRBAND: what a writer waits for.</summary>
    public const short OutputEvents = 0x004 | 0x008 | 0x010 | 0x100 | 0x200;

    /// <summary>Every poll event: a change that may concern anyone.</summary>
    public const short AnyEvent = -1;

    private readonly List<GuestThread> waiters = [];
    private readonly List<WaitQueue> listeners = [];

    public bool IsEmpty => waiters.Count == 0;

    /// <summary>How many notifications announced input events (data, hang-up) so far.</summary>
    public long InputVersion { get; private set; }

    /// <summary>How many notifications announced output events (space) so far.</summary>
    public long OutputVersion { get; private set; }

    internal void Subscribe(GuestThread thread) => waiters.Add(thread);

    internal void Unsubscribe(GuestThread thread) => waiters.Remove(thread);

    /// <summary>From now on every notification of this queue also notifies <paramref name="listener"/>.</summary>
    public void AddListener(WaitQueue listener) => listeners.Add(listener);

    public void RemoveListener(WaitQueue listener) => listeners.Remove(listener);

    /// <summary>Wakes every waiting thread.</summary>
    public void Notify() => Notify(AnyEvent);

    /// <summary>Wakes every waiting thread, announcing <paramref name="events"/> (poll bits) for edge-triggered watchers.</summary>
    public void Notify(short events)
    {
        if ((events & InputEvents) != 0)
            InputVersion++;
        if ((events & OutputEvents) != 0)
            OutputVersion++;
        foreach (var thread in waiters)
            thread.Wake();
        // Listeners form no cycle: epoll_ctl refuses a loop of epoll instances (ELOOP).
        foreach (var listener in listeners)
            listener.Notify(AnyEvent);
    }
}
