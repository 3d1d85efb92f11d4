using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// User and group ids. The guest starts with the host user's ids; changing them changes what the
/// guest is told, not what the host lets Trapeze do (files it creates still belong to the host user).
/// </summary>
public static class CredentialCalls
{
    private const uint Unchanged = uint.MaxValue; // (uid_t)-1
    private const int MostGroups = 65536; // NGROUPS_MAX

    [Syscall("getuid", Support = Support.Full)]
    public static Result GetUserId(GuestThread thread) => thread.Process.Credentials.RealUser;

    [Syscall("geteuid", Support = Support.Full)]
    public static Result GetEffectiveUserId(GuestThread thread) => thread.Process.Credentials.EffectiveUser;

    [Syscall("getgid", Support = Support.Full)]
    public static Result GetGroupId(GuestThread thread) => thread.Process.Credentials.RealGroup;

    [Syscall("getegid", Support = Support.Full)]
    public static Result GetEffectiveGroupId(GuestThread thread) => thread.Process.Credentials.EffectiveGroup;

    [Syscall("getresuid", Support = Support.Full)]
    public static Result GetUserIds(GuestThread thread, GuestAddress real, GuestAddress effective, GuestAddress saved)
    {
        var ids = thread.Process.Credentials;
        return WriteThree(thread, real, ids.RealUser, effective, ids.EffectiveUser, saved, ids.SavedUser);
    }

    [Syscall("getresgid", Support = Support.Full)]
    public static Result GetGroupIds(GuestThread thread, GuestAddress real, GuestAddress effective, GuestAddress saved)
    {
        var ids = thread.Process.Credentials;
        return WriteThree(thread, real, ids.RealGroup, effective, ids.EffectiveGroup, saved, ids.SavedGroup);
    }

    [Syscall("setresuid", Support = Support.Full)]
    public static Result SetUserIds(GuestThread thread, uint real, uint effective, uint saved)
    {
        var ids = thread.Process.Credentials;
        return SetThree(ids, ref ids.RealUser, ref ids.EffectiveUser, ref ids.SavedUser, real, effective, saved);
    }

    [Syscall("setresgid", Support = Support.Full)]
    public static Result SetGroupIds(GuestThread thread, uint real, uint effective, uint saved)
    {
        var ids = thread.Process.Credentials;
        return SetThree(ids, ref ids.RealGroup, ref ids.EffectiveGroup, ref ids.SavedGroup, real, effective, saved);
    }

    [Syscall("setreuid", Support = Support.Full)]
    public static Result SetRealEffectiveUser(GuestThread thread, uint real, uint effective)
    {
        // The saved id follows the effective one when the real id is set or the effective one changes to another.
        var ids = thread.Process.Credentials;
        var saved = real != Unchanged || (effective != Unchanged && effective != ids.RealUser) ? (effective == Unchanged ? ids.EffectiveUser : effective) : Unchanged;
        if (ids.EffectiveUser != 0 && real != Unchanged && real != ids.RealUser && real != ids.EffectiveUser)
            return Errno.EPERM;
        return SetUserIds(thread, real, effective, ids.EffectiveUser == 0 ? saved : Unchanged);
    }

    [Syscall("setregid", Support = Support.Full)]
    public static Result SetRealEffectiveGroup(GuestThread thread, uint real, uint effective)
    {
        var ids = thread.Process.Credentials;
        var saved = real != Unchanged || (effective != Unchanged && effective != ids.RealGroup) ? (effective == Unchanged ? ids.EffectiveGroup : effective) : Unchanged;
        if (ids.EffectiveUser != 0 && real != Unchanged && real != ids.RealGroup && real != ids.EffectiveGroup)
            return Errno.EPERM;
        return SetGroupIds(thread, real, effective, ids.EffectiveUser == 0 ? saved : Unchanged);
    }

    [Syscall("setuid", Support = Support.Full)]
    public static Result SetUser(GuestThread thread, uint user)
    {
        // Privileged, setuid sets all three; otherwise only the effective id, to the real or saved one.
        var ids = thread.Process.Credentials;
        if (user == Unchanged)
            return Errno.EINVAL;
        return ids.EffectiveUser == 0 ? SetUserIds(thread, user, user, user) : SetUserIds(thread, Unchanged, user, Unchanged);
    }

    [Syscall("setgid", Support = Support.Full)]
    public static Result SetGroup(GuestThread thread, uint group)
    {
        var ids = thread.Process.Credentials;
        if (group == Unchanged)
            return Errno.EINVAL;
        return ids.EffectiveUser == 0 ? SetGroupIds(thread, group, group, group) : SetGroupIds(thread, Unchanged, group, Unchanged);
    }

    [Syscall("setfsuid", Support = Support.Partial, Note = "the filesystem id follows the effective id; returns the previous one")]
    public static Result SetFileSystemUser(GuestThread thread, uint user) => thread.Process.Credentials.EffectiveUser;

    [Syscall("setfsgid", Support = Support.Partial, Note = "the filesystem id follows the effective id; returns the previous one")]
    public static Result SetFileSystemGroup(GuestThread thread, uint group) => thread.Process.Credentials.EffectiveGroup;

    [Syscall("getgroups", Support = Support.Full)]
    public static Result GetGroups(GuestThread thread, int size, GuestAddress list)
    {
        var groups = thread.Process.Credentials.Groups;
        if (size == 0)
            return groups.Length;
        if (size < groups.Length)
            return Errno.EINVAL;
        for (var i = 0; i < groups.Length; i++)
        {
            if (thread.Memory.Write(list + (ulong)(i * 4), groups[i]) is var fault and not Errno.None)
                return fault;
        }
        return groups.Length;
    }

    [Syscall("setgroups", Support = Support.Full)]
    public static Result SetGroups(GuestThread thread, int size, GuestAddress list)
    {
        var ids = thread.Process.Credentials;
        if (ids.EffectiveUser != 0)
            return Errno.EPERM;
        if (size < 0 || size > MostGroups)
            return Errno.EINVAL;
        var groups = new uint[size];
        for (var i = 0; i < size; i++)
        {
            if (thread.Memory.Read(list + (ulong)(i * 4), out groups[i]) is var fault and not Errno.None)
                return fault;
        }
        ids.Groups = groups;
        return 0;
    }

    /// <summary>
    /// setresuid's rule for one triple of ids (users or groups): unprivileged, each new id must be one
    /// of the three current ones; root may set any; -1 leaves an id as it is.
    /// </summary>
    private static Result SetThree(ProcessCredentials ids, ref uint real, ref uint effective, ref uint saved, uint newReal, uint newEffective, uint newSaved)
    {
        var (r, e, s) = (real, effective, saved);
        bool Current(uint id) => id == Unchanged || id == r || id == e || id == s;
        if (ids.EffectiveUser != 0 && !(Current(newReal) && Current(newEffective) && Current(newSaved)))
            return Errno.EPERM;
        real = newReal == Unchanged ? real : newReal;
        effective = newEffective == Unchanged ? effective : newEffective;
        saved = newSaved == Unchanged ? saved : newSaved;
        return 0;
    }

    private static Result WriteThree(GuestThread thread, GuestAddress first, uint a, GuestAddress second, uint b, GuestAddress third, uint c)
    {
        if (thread.Memory.Write(first, a) is var fault1 and not Errno.None)
            return fault1;
        if (thread.Memory.Write(second, b) is var fault2 and not Errno.None)
            return fault2;
        return thread.Memory.Write(third, c) is var fault3 and not Errno.None ? fault3 : 0;
    }
}
