using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>What the System V IPC calls share: finding or creating an object by key, permissions, the IPC_64 bit.</summary>
internal static class Ipc
{
    public const int Read = 4, Write = 2;
    private const int Version64 = 0x100; // IPC_64: the only layout Trapeze writes

    /// <summary>The command without the IPC_64 bit the C libraries add.</summary>
    public static IpcCommand Command(int command) => (IpcCommand)(command & ~Version64);

    /// <summary>shmget, semget, msgget: the object named by <paramref name="key"/>, created when asked.</summary>
    public static Result Get<T>(GuestThread thread, IpcRegistry<T> registry, int key, IpcFlags flags, Func<T, Errno> existing, Func<T?> create)
        where T : IpcObject
    {
        if (registry.FindKey(key) is { } found)
        {
            if ((flags & (IpcFlags.IPC_CREAT | IpcFlags.IPC_EXCL)) == (IpcFlags.IPC_CREAT | IpcFlags.IPC_EXCL))
                return Errno.EEXIST;
            if (!Allowed(thread, found, (int)flags & 0x1ff))
                return Errno.EACCES;
            return existing(found) is var error and not Errno.None ? error : found.Id;
        }
        if (key != IpcRegistry<T>.PrivateKey && (flags & IpcFlags.IPC_CREAT) == 0)
            return Errno.ENOENT;
        if (create() is not { } item)
            return Errno.ENOMEM;
        var credentials = thread.Kernel.Credentials;
        return registry.Add(item, key, (uint)flags, credentials.EffectiveUserId, credentials.EffectiveGroupId, Now(thread)).Id;
    }

    /// <summary>ipcperms: the owner's, the group's or the others' bits of the mode; root may do anything.</summary>
    public static bool Allowed(GuestThread thread, IpcObject item, int requested)
    {
        var credentials = thread.Kernel.Credentials;
        var user = credentials.EffectiveUserId;
        if (user == 0)
            return true;
        var granted = item.Mode & 0x1ff;
        if (user == item.UserId || user == item.CreatorUserId)
            granted >>= 6;
        else if (credentials.EffectiveGroupId == item.GroupId || credentials.EffectiveGroupId == item.CreatorGroupId)
            granted >>= 3;
        var wanted = (uint)((requested >> 6) | (requested >> 3) | requested) & 7;
        return (granted & wanted) == wanted;
    }

    /// <summary>IPC_SET and IPC_RMID are the owner's, the creator's or root's.</summary>
    public static bool IsOwner(GuestThread thread, IpcObject item)
    {
        var user = thread.Kernel.Credentials.EffectiveUserId;
        return user == 0 || user == item.UserId || user == item.CreatorUserId;
    }

    public static long Now(GuestThread thread) => thread.Kernel.Clock.Realtime / 1_000_000_000;
}
