namespace Trapeze.Kernel.Tasks;

/// <summary>
/// Threads waiting for something inside the kernel (a pipe's data, a child's exit, a futex word).
/// All kernel state changes under the scheduler's run lock, so a thread subscribes before it lets
/// go of the lock and no wake-up is lost. Woken threads dispatch their call again, so a wake-up
/// that finds nothing to do is harmless.
/// </summary>
public sealed class WaitQueue
{
    private readonly List<GuestThread> waiters = [];

    public bool IsEmpty => waiters.Count == 0;

    internal void Subscribe(GuestThread thread) => waiters.Add(thread);

    internal void Unsubscribe(GuestThread thread) => waiters.Remove(thread);

    /// <summary>Wakes every waiting thread.</summary>
    public void Notify()
    {
        foreach (var thread in waiters)
            thread.Wake();
    }
}
